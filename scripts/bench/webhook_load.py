"""Records consent decisions at a steady rate and times each one's webhook from acknowledgement (the
write committed) to its arrival at the sink (webhook_sink.py).

  webhook_load.py PORT TOKEN SINK_RECORDS RATE SECONDS

Posts RATE decisions per second for SECONDS seconds over 200 subjects, from four processes of
eight keep-alive connections each, then waits up to two minutes for every webhook. Prints one JSON
line: the rate asked for and achieved, the deliveries' rate while the load ran, the lag's p50/p99/max
in ms, and how many never arrived.
"""
import http.client
import json
import sys
import threading
import time
import uuid

from fan_out import fan_out

port, token, sink = int(sys.argv[1]), sys.argv[2], sys.argv[3]
rate, seconds = float(sys.argv[4]), float(sys.argv[5])
processes, threads = 4, 8
subjects = [f"hook-{uuid.uuid4().hex[:12]}" for _ in range(200)]


def worker(share, start, queue):
    local = threading.local()
    acknowledged, bad, lock = {}, 0, threading.Lock()
    per_thread = rate / processes / threads
    count = int(per_thread * seconds)

    def run(thread):
        nonlocal bad
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        begin = start + (share * threads + thread) / (rate)
        for index in range(count):
            delay = begin + index / per_thread - time.time()
            if delay > 0:
                time.sleep(delay)
            subject = subjects[(share * threads + thread + index * processes * threads) % len(subjects)]
            decision = "granted" if index % 2 == 0 else "withdrawn"
            connection.request(
                "POST", f"/v1/subjects/{subject}/consents",
                body=json.dumps({"purpose": "marketing", "decision": decision}),
                headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
            response = connection.getresponse()
            data = response.read()
            if response.status != 201:
                with lock:
                    bad += 1
                continue
            event = json.loads(data)["events"][0]["id"]
            with lock:
                acknowledged[event] = time.time()

    workers = [threading.Thread(target=run, args=(thread,)) for thread in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    queue.put((acknowledged, bad))


if __name__ == "__main__":
    import multiprocessing

    queue = multiprocessing.Queue()
    start = time.time() + 1
    pool = [multiprocessing.Process(target=worker, args=(share, start, queue)) for share in range(processes)]
    for process in pool:
        process.start()
    results = [queue.get() for _ in pool]
    for process in pool:
        process.join()
    ended = time.time()
    acknowledged = {}
    bad = 0
    for part, failures in results:
        acknowledged.update(part)
        bad += failures
    achieved = len(acknowledged) / (ended - start)

    def arrivals():
        first = {}
        with open(sink) as records:
            for line in records:
                at, event = line.split()
                first.setdefault(event, float(at))
        return first

    deadline = time.time() + 120
    while time.time() < deadline and not set(acknowledged) <= set(arrivals()):
        time.sleep(0.5)
    arrived = arrivals()
    lags = sorted((arrived[e] - acked) * 1000 for e, acked in acknowledged.items() if e in arrived)
    during = sum(1 for e in acknowledged if e in arrived and arrived[e] <= ended)

    def percentile(values, q):
        return round(values[min(len(values) - 1, int(q * len(values)))], 1) if values else None

    print(json.dumps({
        "asked_rate": rate, "achieved_rate": round(achieved, 1), "events": len(acknowledged), "refused": bad,
        "delivered_during_load_per_s": round(during / (ended - start), 1),
        "lag_p50_ms": percentile(lags, 0.5), "lag_p99_ms": percentile(lags, 0.99),
        "lag_max_ms": round(lags[-1], 1) if lags else None, "missing": len(acknowledged) - len(lags),
    }))
