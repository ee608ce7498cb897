"""A downstream system for the tests: a CRM or warehouse that QSPP fans data-subject requests out to.
It checks each task with other people's code (the Standard Webhooks library from PyPI) and answers
the way a real system would. Test-only.

  downstream_system.py PORT SECRET RECORD_FILE MODE [DELAY_SECONDS]

PORT 0 picks a free port; the port is printed on the first line. MODE:
  slow     takes each task (204), then after DELAY_SECONDS posts its answer to the task's answerUrl,
           signed with SECRET by `standardwebhooks`: `done` with the person's data for an export,
           `done` for anything else;
  failing  answers every delivery 500, as a system that is down would.
Every delivery is appended to RECORD_FILE as a JSON line: {"task", "action"} for a task that
verified, {"event": type} for another event, {"refused": reason} for a delivery that did not verify;
every answer sent as {"answered": task, "status": code}.
"""
import datetime
import json
import sys
import threading
import time
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

try:
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError
except ImportError as error:
    print(f"ERROR: {error}; install the test tools (qspp_python_test_tools in scripts/lib/setup.sh)", file=sys.stderr)
    sys.exit(2)

port, secret, record_file, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
delay = float(sys.argv[5]) if len(sys.argv) > 5 else 0.0
lock = threading.Lock()
webhook = Webhook(secret)


def record(entry):
    with lock, open(record_file, "a") as out:
        out.write(json.dumps(entry) + "\n")


def answer_later(data):
    time.sleep(delay)
    body = {"taskId": data["taskId"], "outcome": "done"}
    if data["action"] == "export":
        body["data"] = {"subjectId": data["subjectId"], "orders": [{"id": 7, "total": "12.50"}]}
    payload = json.dumps(body).encode()
    message_id = f"msg_{uuid.uuid4()}"
    now = datetime.datetime.now(tz=datetime.timezone.utc)
    request = urllib.request.Request(data["answerUrl"], data=payload, method="POST", headers={
        "content-type": "application/json", "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": webhook.sign(message_id, now, payload.decode()),
    })
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    record({"answered": data["taskId"], "status": status})


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        headers = {name.lower(): value for name, value in self.headers.items()}
        try:
            payload = webhook.verify(body, headers)
        except WebhookVerificationError as error:
            record({"refused": str(error)})
            self.send_response(401)
            self.end_headers()
            return
        data = payload.get("data", {})
        if payload.get("type") != "request.task":
            record({"event": payload.get("type")})
        else:
            record({"task": data["taskId"], "action": data["action"]})
        if mode == "failing":
            self.send_response(500)
            self.end_headers()
            return
        self.send_response(204)
        self.end_headers()
        if payload.get("type") == "request.task":
            threading.Thread(target=answer_later, args=(data,), daemon=True).start()

    def log_message(self, *arguments):
        pass


server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
