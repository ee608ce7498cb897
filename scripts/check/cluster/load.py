"""Steady load on a QSPP cluster, for scripts/check/cluster.sh: consent decisions and logins through the
load balancer until STOP_FILE exists.

  load.py BASE_URL STOP_FILE OUTPUT_JSON

Every decision carries an Idempotency-Key and is retried with the same key (for up to 60 s) until
the cluster acknowledges it, as a careful client would; a 4xx other than 429 is recorded and the
decision dropped (retrying the same request cannot help), and a worker never dies of an error: each is
recorded by kind, and anything unexpected ends that worker with its traceback in the output, which
verify.py then fails on. The output lists every attempt (time, kind, outcome, what went wrong), every
acknowledged write (key, subject, event id, and the request, to replay it), and any worker crash or
fatal set-up error; the script exits 1 after writing it if there was one.
"""
import json
import os
import random
import sys
import threading
import time
import traceback
import urllib.error
import urllib.request
import uuid

BASE, STOP_FILE, OUTPUT = sys.argv[1:4]
PASSWORD = "cluster load passphrase"
lock = threading.Lock()
attempts = []  # (time, kind, ok, what went wrong: an HTTP status, an exception's name, or "gave up")
acknowledged = []
crashes = []  # a worker's unexpected exception, with its traceback
RETRY_SECONDS = 60


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
    elif isinstance(error, (KeyError, IndexError, TypeError, ValueError)):
        error = f"bad answer ({type(error).__name__})"
    elif isinstance(error, BaseException):
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


def worker(target, *args):
    """Runs `target`; an exception it did not expect ends this worker only, recorded for verify.py."""
    try:
        target(*args)
    except BaseException:
        with lock:
            crashes.append(f"{target.__name__}{args[-1:]}: {traceback.format_exc()}")


def writer(users, purposes, seed):
    rng = random.Random(seed)
    while not stopping():
        user = rng.choice(users)
        body = {"purpose": rng.choice(purposes), "decision": rng.choice(["granted", "withdrawn"])}
        key = str(uuid.uuid4())
        path = f"/v1/subjects/{user['id']}/consents"
        headers = {"Authorization": f"Bearer {user['token']}", "Idempotency-Key": key}
        deadline = time.time() + RETRY_SECONDS
        while True:
            if time.time() >= deadline:
                record("write", False, "gave up")  # never acknowledged within RETRY_SECONDS
                break
            try:
                status, _, answer = call("POST", path, body, headers)
                event = answer["events"][0]["id"]
                if status not in (200, 201) or not isinstance(event, str):
                    raise ValueError(f"status {status}, event {event!r}")
            except urllib.error.HTTPError as error:
                record("write", False, error)
                if 400 <= error.code < 500 and error.code != 429:
                    break  # refused as a request: the same request again would be refused again
                time.sleep(0.1 + rng.random() * 0.2)
                continue
            except (urllib.error.URLError, OSError, TimeoutError, KeyError, IndexError, TypeError,
                    ValueError) as error:
                record("write", False, error)
                time.sleep(0.1 + rng.random() * 0.2)
                continue
            record("write", True)
            with lock:
                acknowledged.append({"key": key, "subject": user["id"], "event": event, "path": path,
                                     "body": body, "token": user["token"], "status": status})
            break


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
    users, fatal = [], None
    try:
        users = setup_users(20)
        purposes = [purpose["id"] for purpose in call("GET", "/v1/purposes")[2]["purposes"]]
        if not purposes:
            raise ValueError("the cluster has no purposes to decide on")
    except Exception as error:  # noqa: BLE001: reported, and fails the run
        fatal = f"setting up the load failed: {error!r}"
        print(fatal, file=sys.stderr)
    if fatal is None:
        threads = [threading.Thread(target=worker, args=(writer, users, purposes, seed)) for seed in range(6)]
        threads += [threading.Thread(target=worker, args=(logger_in, users, 100 + seed)) for seed in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    with lock, open(OUTPUT, "w") as output:
        json.dump({"attempts": attempts, "acknowledged": acknowledged, "subjects": [u["id"] for u in users],
                   "crashes": crashes, "fatal": fatal}, output)
    for crash in crashes:
        print(f"a load worker died: {crash}", file=sys.stderr)
    if fatal or crashes:
        sys.exit(1)


if __name__ == "__main__":
    main()
