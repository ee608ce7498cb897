"""Drives the mail outbox through the real API and times delivery to a real SMTP server.

  mail_load.py PORT OUTDIR ACCOUNTS BURST RATE SECONDS

Registers ACCOUNTS people (each registration queues a confirmation link) and waits until the relay
has them all. Then asks for password-reset links for BURST of them as fast as 16 clients can, so the
outbox fills faster than it drains, and times the drain from the relay's first acceptance to its
last. Then asks for a link for another person every 1/RATE seconds for SECONDS seconds. A request's
acknowledgement is when its transaction has committed; the relay (smtp_server.py) records when it
accepted each message. Prints one JSON line: the burst's drain rate (messages per second), the rate
asked for and achieved, the lag's p50/p99/max in ms from acknowledgement to acceptance, and the
count of messages that did not arrive.
"""
import concurrent.futures
import glob
import http.client
import json
import os
import sys
import threading
import time
import uuid

port, outdir = int(sys.argv[1]), sys.argv[2]
accounts, burst, rate, seconds = int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
local = threading.local()


def post(path, body):
    if not hasattr(local, "connection"):
        local.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    local.connection.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
    response = local.connection.getresponse()
    data = response.read()
    if response.status != 202:
        raise SystemExit(f"POST {path}: {response.status} {data[:200]!r}")
    return time.time()


def received():
    """Recipient -> acceptance times, from the relay's records."""
    times = {}
    for path in glob.glob(os.path.join(outdir, "*.json")):
        with open(path) as f:
            record = json.load(f)
        times.setdefault(record["rcpt_tos"][0], []).append(record["received_at"])
    return times


def wait_for(count, deadline):
    while time.time() < deadline:
        if sum(len(v) for v in received().values()) >= count:
            return True
        time.sleep(0.2)
    return False


emails = [f"mail-{uuid.uuid4().hex[:16]}@example.com" for _ in range(accounts)]
password = "correct horse battery staple"
with concurrent.futures.ThreadPoolExecutor(8) as pool:
    list(pool.map(lambda e: post("/v1/auth/register", {"email": e, "password": password}), emails))
if not wait_for(accounts, time.time() + 300):
    raise SystemExit("the confirmation links did not all arrive")

burst_emails = emails[:burst]
with concurrent.futures.ThreadPoolExecutor(16) as pool:
    list(pool.map(lambda e: post("/v1/auth/password/forgot", {"email": e}), burst_emails))
if not wait_for(accounts + burst, time.time() + 300):
    raise SystemExit("the burst did not all arrive")
burst_times = [max(received()[e]) for e in burst_emails]
drain_rate = burst / max(max(burst_times) - min(burst_times), 1e-9)

targets = emails[burst : burst + int(rate * seconds)]
acknowledged = {}
lock = threading.Lock()


def ask(email):
    acked = post("/v1/auth/password/forgot", {"email": email})
    with lock:
        acknowledged[email] = acked


t0 = time.time()
with concurrent.futures.ThreadPoolExecutor(16) as pool:
    futures = []
    for index, email in enumerate(targets):
        delay = t0 + index / rate - time.time()
        if delay > 0:
            time.sleep(delay)
        futures.append(pool.submit(ask, email))
    for future in futures:
        future.result()
achieved = len(targets) / (time.time() - t0)
wait_for(accounts + burst + len(targets), time.time() + 120)
times = received()
lags = sorted(
    (max(times[e]) - acknowledged[e]) * 1000 for e in targets if e in times and len(times[e]) >= 2
)
missing = len(targets) - len(lags)


def percentile(values, q):
    return values[min(len(values) - 1, int(q * len(values)))] if values else None


print(json.dumps({
    "asked_rate": rate, "achieved_rate": round(achieved, 1), "messages": len(targets),
    "lag_p50_ms": round(percentile(lags, 0.5), 1), "lag_p99_ms": round(percentile(lags, 0.99), 1),
    "lag_max_ms": round(lags[-1], 1), "burst": burst, "burst_drain_per_s": round(drain_rate, 1),
    "missing": missing,
}))
