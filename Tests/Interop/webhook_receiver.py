"""A webhook receiver for the tests: it checks every delivery with other people's code, as a
customer's system would. Test-only.

  webhook_receiver.py PORT SECRET JWKS_URL RECORD_FILE [DELAY_SECONDS]

PORT 0 picks a free port; the port is printed on the first line. Each POST is checked with the
Standard Webhooks library (`standardwebhooks` from PyPI: webhook-id, webhook-timestamp and the HMAC
`webhook-signature`) and its `webhook-signature-jws` with dilithium-py against the JWKS (ML-DSA-65;
its `body_sha256`, `id` and `type` must be those of the delivery). A delivery that passes both is
answered 204 and appended to RECORD_FILE as one JSON line {"id", "type", "data"}; one that fails
either is answered 401 and recorded as {"refused": reason}. With DELAY_SECONDS, each answer waits
that long after the record is written, as a slow receiver would.
"""
import base64
import hashlib
import json
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

try:
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError
    from dilithium_py.ml_dsa import ML_DSA_65
except ImportError as error:
    print(f"ERROR: {error}; install the test tools (qspp_python_test_tools in scripts/lib/setup.sh)", file=sys.stderr)
    sys.exit(2)

port, secret, jwks_url, record_file = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
delay = float(sys.argv[5]) if len(sys.argv) > 5 else 0.0
lock = threading.Lock()
# dilithium-py is not thread-safe: verifications at once on threads fail at random.
verifying = threading.Lock()
keys = {}


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_key(kid):
    with lock:
        return fetched(kid)


def fetched(kid):
    if kid not in keys:
        with urllib.request.urlopen(jwks_url, timeout=10) as answer:
            for key in json.load(answer)["keys"]:
                keys[key.get("kid")] = key
    return keys.get(kid)


def check_jws(token, webhook_id, body):
    """None when the JWS verifies and states this delivery, else why not."""
    parts = token.split(".")
    if len(parts) != 3:
        return "the JWS is not compact"
    header = json.loads(b64url_decode(parts[0]))
    claims = json.loads(b64url_decode(parts[1]))
    if header.get("alg") != "ML-DSA-65" or header.get("typ") != "webhook+jwt":
        return f"alg {header.get('alg')}, typ {header.get('typ')}"
    key = public_key(header.get("kid"))
    if key is None or key.get("alg") != "ML-DSA-65":
        return "no ML-DSA-65 key with that kid in the JWKS"
    signed = f"{parts[0]}.{parts[1]}".encode()
    with verifying:
        verified = ML_DSA_65.verify(b64url_decode(key["pub"]), signed, b64url_decode(parts[2]))
    if verified is not True:
        return "the JWS signature does not verify"
    digest = base64.urlsafe_b64encode(hashlib.sha256(body).digest()).rstrip(b"=").decode()
    if claims.get("body_sha256") != digest or claims.get("id") != webhook_id:
        return "the JWS states another delivery"
    if claims.get("type") != json.loads(body).get("type"):
        return "the JWS states another type"
    return None


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        if len(body) < length:
            return  # the sender went away mid-request: nothing was delivered
        headers = {name.lower(): value for name, value in self.headers.items()}
        try:
            payload = Webhook(secret).verify(body, headers)
            reason = check_jws(headers.get("webhook-signature-jws", ""), headers.get("webhook-id"), body)
        except WebhookVerificationError as error:
            payload, reason = None, f"standardwebhooks: {error}"
        record = {"refused": reason} if reason else {
            "id": headers["webhook-id"], "type": payload["type"], "data": payload["data"]}
        with lock, open(record_file, "a") as out:
            out.write(json.dumps(record) + "\n")
        if delay:
            time.sleep(delay)
        self.send_response(401 if reason else 204)
        self.end_headers()

    def log_message(self, *arguments):
        pass


server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
