"""Steady load on a QSPP cluster, for scripts/cluster.sh: consent decisions and logins through the
load balancer until STOP_FILE exists.

  load.py BASE_URL STOP_FILE OUTPUT_JSON

Every decision carries an Idempotency-Key and is retried with the same key (for up to 60 s) until
the cluster acknowledges it, as a careful client would. The output lists every attempt (time, kind,
outcome) and every acknowledged write (key, subject, event id, and the request, to replay it).
"""
import json
import os
import random
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid

BASE, STOP_FILE, OUTPUT = sys.argv[1:4]
PASSWORD = "cluster load passphrase"
lock = threading.Lock()
attempts = []  # (time, kind, ok, what went wrong)
acknowledged = []


def call(method, path, body=None, headers=None, timeout=10):
    request = urllib.request.Request(BASE + path, method=method, headers={"Content-Type": "application/json",
                                                                         **(headers or {})},
                                     data=json.dumps(body).encode() if body is not None else None)
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status, dict(response.headers), json.loads(response.read() or b"null")


def record(kind, ok, error=None):
    if isinstance(error, urllib.error.HTTPError):
        error = str(error.code)
    elif isinstance(error, urllib.error.URLError):
        error = type(error.reason).__name__
    elif error is not None:
        error = type(error).__name__
    with lock:
        attempts.append((time.time(), kind, ok, error))


def stopping():
    return os.path.exists(STOP_FILE)


def setup_users(count):
    users = []
    for index in range(count):
        email = f"load-{index}-{uuid.uuid4().hex[:8]}@cluster.test"
        call("POST", "/v1/auth/register", {"email": email, "password": PASSWORD})
        _, _, body = call("POST", "/v1/auth/login", {"email": email, "password": PASSWORD})
        users.append({"email": email, "id": body["user"]["id"], "token": body["accessToken"]})
    return users


def writer(users, purposes, seed):
    rng = random.Random(seed)
    while not stopping():
        user = rng.choice(users)
        body = {"purpose": rng.choice(purposes), "decision": rng.choice(["granted", "withdrawn"])}
        key = str(uuid.uuid4())
        path = f"/v1/subjects/{user['id']}/consents"
        headers = {"Authorization": f"Bearer {user['token']}", "Idempotency-Key": key}
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                status, _, answer = call("POST", path, body, headers)
                record("write", True)
                with lock:
                    acknowledged.append({"key": key, "subject": user["id"], "event": answer["events"][0]["id"], "path": path,
                                         "body": body, "token": user["token"], "status": status})
                break
            except (urllib.error.URLError, OSError, TimeoutError, ValueError) as error:
                if isinstance(error, urllib.error.HTTPError) and error.code < 500 and error.code != 429:
                    raise
                record("write", False, error)
                time.sleep(0.1 + rng.random() * 0.2)


def logger_in(users, seed):
    rng = random.Random(seed)
    while not stopping():
        try:
            call("POST", "/v1/auth/login", {"email": rng.choice(users)["email"], "password": PASSWORD})
            record("login", True)
        except (urllib.error.URLError, OSError, TimeoutError, ValueError) as error:
            record("login", False, error)
        time.sleep(0.05)


def main():
    users = setup_users(20)
    purposes = [purpose["id"] for purpose in call("GET", "/v1/purposes")[2]["purposes"]]
    threads = [threading.Thread(target=writer, args=(users, purposes, seed)) for seed in range(6)]
    threads += [threading.Thread(target=logger_in, args=(users, 100 + seed)) for seed in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with open(OUTPUT, "w") as output:
        json.dump({"attempts": attempts, "acknowledged": acknowledged, "subjects": [u["id"] for u in users]}, output)


if __name__ == "__main__":
    main()
