"""Loads one person's consent history through the real API, then times their export and erasure.

  privacy_load.py PORT ADMIN_TOKEN EVENTS QSPP_PID   prints one line: events, export seconds, archive
  bytes, peak RSS growth during the export (KiB), erasure seconds.
"""
import http.client
import json
import sys
import threading
import time
import uuid

port, admin, events, pid = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
connection = http.client.HTTPConnection("127.0.0.1", port)


def call(method, path, body=None, token=None):
    headers = {"Content-Type": "application/json", "User-Agent": "bench-privacy/1.0"}
    if token:
        headers["Authorization"] = "Bearer " + token
    connection.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    response = connection.getresponse()
    data = response.read()
    if response.status >= 300:
        raise SystemExit(f"{method} {path}: {response.status} {data[:200]!r}")
    return data


email = f"bench-{uuid.uuid4().hex[:12]}@example.com"
password = "correct horse battery staple"
call("POST", "/v1/auth/register", {"email": email, "password": password})
login = json.loads(call("POST", "/v1/auth/login", {"email": email, "password": password}))
token, subject = login["accessToken"], login["user"]["id"]

for start in range(0, events, 100):
    decisions = [
        {"purpose": ("marketing", "analytics", "cookies")[i % 3], "decision": ("granted", "withdrawn")[i % 2]}
        for i in range(start, min(start + 100, events))
    ]
    call("POST", f"/v1/subjects/{subject}/consents/batch", {"decisions": decisions}, token)


def rss_kib():
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS"))


baseline, peak, running = rss_kib(), [0], [True]


def sample():
    while running[0]:
        peak[0] = max(peak[0], rss_kib())
        time.sleep(0.02)


sampler = threading.Thread(target=sample)
sampler.start()
started = time.monotonic()
archive = call("GET", "/v1/me/export", token=token)
export_seconds = time.monotonic() - started
running[0] = False
sampler.join()

request = json.loads(call("POST", "/v1/me/requests", {"kind": "erasure"}, token))
call("POST", f"/v1/requests/{request['id']}/transitions", {"status": "verified"}, admin)
started = time.monotonic()
call("POST", f"/v1/requests/{request['id']}/erasure", None, admin)
erasure_seconds = time.monotonic() - started
print(f"{events} {export_seconds:.3f} {len(archive)} {max(0, peak[0] - baseline)} {erasure_seconds:.3f}")
