"""Passkey sign-ins per second through the real API.

  passkey_load.py PORT ACCOUNTS SECONDS PROCESSES THREADS

Registers ACCOUNTS people, each with an ES256 passkey of the test-only software authenticator
(Tests/Interop/passkey_authenticator.py: the cryptography package signs, user verification set).
Then PROCESSES processes of THREADS clients each sign in without a password for SECONDS seconds:
options, a signature over the fresh challenge, the answer. Each client owns its own accounts, so
no two sign-ins race one passkey's counter. Prints one JSON line: sign-ins per second, and how many
answers were not 200.
"""
import argparse
import http.client
import json
import os
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "Interop"))
import passkey_authenticator as authenticator  # noqa: E402
from fan_out import fan_out  # noqa: E402

port, accounts, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
processes, threads = int(sys.argv[4]), int(sys.argv[5])
origin = f"http://localhost:{port}"


def call(connection, path, body=None, token=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    connection.request("POST" if body is not None else "GET", path, body=json.dumps(body) if body is not None else None,
                       headers=headers)
    response = connection.getresponse()
    return response.status, json.loads(response.read() or b"{}")


def enrol(index):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    email, password = f"passkey-{uuid.uuid4().hex}@example.com", "bench passkey password 42"
    call(connection, "/v1/auth/register", {"email": email, "password": password})
    status, tokens = call(connection, "/v1/auth/login", {"email": email, "password": password})
    assert status == 200, tokens
    status, options = call(connection, "/v1/me/passkeys/options", {}, tokens["accessToken"])
    assert status == 200, options
    args = argparse.Namespace(soft=False, alg=-7, attestation="none", no_uv=False, backup=False, origin=origin)
    state, answer = authenticator.create(args, options)
    status, passkey = call(connection, "/v1/me/passkeys", {"credential": answer}, tokens["accessToken"])
    assert status == 201, passkey
    return state


def client(states, deadline, results):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    args = argparse.Namespace(counter=None, user_handle=None, no_uv=False, origin=origin)
    done = bad = 0
    while time.time() < deadline:
        for state in states:
            _, options = call(connection, "/v1/auth/passkey/options", {})
            status, _ = call(connection, "/v1/auth/passkey", {"credential": authenticator.get(args, state, options)})
            if status == 200:
                done += 1
            else:
                bad += 1
            if time.time() >= deadline:
                break
    results.append((done, bad))


def worker(states, start, queue):
    time.sleep(max(0, start - time.time()))
    results = []
    shares = [states[index::threads] for index in range(threads)]
    running = [threading.Thread(target=client, args=(share, start + seconds, results)) for share in shares if share]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join()
    queue.put((sum(r[0] for r in results), sum(r[1] for r in results)))


if __name__ == "__main__":
    states = [enrol(index) for index in range(accounts)]
    done, bad = fan_out(worker, [states[index::processes] for index in range(processes)])
    print(json.dumps({"sign_ins_per_second": round(done / seconds, 1), "bad": bad}))
