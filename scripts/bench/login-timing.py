"""Compares login answer times for a wrong password on a real account and for an unknown email.

Alternates the two, one request at a time over one keep-alive connection, each account and each
unknown email used once (so no lock-out interferes), and prints the medians and their difference.
Usage: login-timing.py PORT PREFIX COUNT   (accounts PREFIX-timing-1..COUNT@example.com must exist)
"""
import http.client
import json
import statistics
import sys
import time
import uuid

port, prefix, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
connection = http.client.HTTPConnection("127.0.0.1", port)
known, unknown, statuses = [], [], set()


def attempt(email):
    body = json.dumps({"email": email, "password": "not the right password at all"})
    start = time.perf_counter()
    connection.request("POST", "/v1/auth/login", body, {"Content-Type": "application/json"})
    response = connection.getresponse()
    response.read()
    statuses.add(response.status)
    return (time.perf_counter() - start) * 1000


for index in range(1, count + 1):
    known.append(attempt(f"{prefix}-timing-{index}@example.com"))
    unknown.append(attempt(f"nobody-{uuid.uuid4()}@example.com"))
known_median, unknown_median = statistics.median(known), statistics.median(unknown)
print(f"TIMING known_ms={known_median:.2f} unknown_ms={unknown_median:.2f} "
      f"difference_ms={known_median - unknown_median:+.2f} statuses={sorted(statuses)} pairs={count}")
