"""Checks a cluster run (scripts/cluster.sh): every acknowledged write is in the database exactly once,
a replay of each acknowledged key returns the same event without writing, and reports the error rate
of every phase and how long after each fault the last error came.

  verify.py LOAD_JSON PHASES_FILE DATABASE_EVENTS_FILE BASE_URL
"""
import collections
import json
import sys
import urllib.request

load_file, phases_file, events_file, base = sys.argv[1:5]
load = json.load(open(load_file))
phases = [line.split(" ", 1) for line in open(phases_file).read().splitlines() if line.strip()]
phases = [(float(start), name) for start, name in phases]
rows = [line.split("|") for line in open(events_file).read().splitlines() if line.strip()]
stored = collections.Counter(event_id for event_id, _ in rows)
per_subject = collections.Counter(subject for _, subject in rows)

acknowledged = load["acknowledged"]
lost = [a for a in acknowledged if stored[a["event"]] == 0]
duplicated_ids = [a for a in acknowledged if stored[a["event"]] > 1]
acked_per_subject = collections.Counter(a["subject"] for a in acknowledged)
write_attempt_keys = None  # keys that never got an answer may or may not have reached the database

print(f"acknowledged writes: {len(acknowledged)}; in the database: {len(acknowledged) - len(lost)}; "
      f"lost: {len(lost)}; stored twice: {len(duplicated_ids)}")
extra = sum(per_subject[s] for s in load["subjects"]) - len(acknowledged)
print(f"events written but never acknowledged (the client gave up or the answer was lost): {extra}")

ends = [start for start, _ in phases[1:]] + [float("inf")]
print(f"{'phase':<28} {'writes':>7} {'errors':>7} {'rate':>7} {'logins':>7} {'errors':>7} {'last error':>11}  what went wrong")
for (start, name), end in zip(phases, ends):
    window = [a for a in load["attempts"] if start <= a[0] < end]
    stats = {}
    for kind in ("write", "login"):
        tries = [a for a in window if a[1] == kind]
        failed = [a for a in tries if not a[2]]
        stats[kind] = (len(tries), len(failed))
    failures = [a[0] for a in window if not a[2]]
    last = f"+{max(failures) - start:.1f} s" if failures else "none"
    writes, write_errors = stats["write"]
    logins, login_errors = stats["login"]
    rate = (write_errors + login_errors) / max(1, writes + logins)
    kinds = collections.Counter(a[3] for a in window if not a[2])
    what = ", ".join(f"{kind} ×{count}" for kind, count in kinds.most_common())
    print(f"{name:<28} {writes:>7} {write_errors:>7} {rate:>7.1%} {logins:>7} {login_errors:>7} {last:>11}  {what}")

# A replay of a sample of acknowledged keys must answer the original event and write nothing.
replay_mismatches = 0
replay_failures = 0
for ack in acknowledged[:: max(1, len(acknowledged) // 200)]:
    if replay_failures >= 3:
        print("three replays got no answer: the cluster is not answering writes; replays stopped")
        break
    request = urllib.request.Request(base + ack["path"], method="POST", data=json.dumps(ack["body"]).encode(),
                                     headers={"Content-Type": "application/json", "Idempotency-Key": ack["key"],
                                              "Authorization": f"Bearer {ack['token']}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            answer = json.loads(response.read())
            if answer["events"][0]["id"] != ack["event"] or response.headers.get("Idempotent-Replayed") != "true":
                replay_mismatches += 1
    except OSError as error:
        print(f"replay of {ack['key']} failed: {error}")
        replay_mismatches += 1
        replay_failures += 1

print(f"replays answering another event or nothing: {replay_mismatches}")
if lost or duplicated_ids or replay_mismatches or extra < 0:
    sys.exit(1)
