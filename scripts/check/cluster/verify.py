"""Checks a cluster run (scripts/check/cluster.sh): every acknowledged write is in the database exactly once,
a replay of each acknowledged key returns the same event without writing, and reports the error rate
of every phase and how long after each fault the last error came. It also fails a run that could
otherwise pass by doing nothing: fewer acknowledged writes than QSPP_CLUSTER_MIN_WRITES (default 100),
no acknowledged write in the first or the last phase (steady, and steady again after every fault),
an error rate over all attempts above QSPP_CLUSTER_MAX_ERROR_RATE (default 0.05), any 4xx other than
429 (no fault explains a refused request), a write given up after a minute of retries, or a load
worker that died.

  verify.py LOAD_JSON PHASES_FILE DATABASE_EVENTS_FILE BASE_URL
"""
import collections
import json
import os
import sys
import urllib.request

MIN_WRITES = int(os.environ.get("QSPP_CLUSTER_MIN_WRITES", "100"))
MAX_ERROR_RATE = float(os.environ.get("QSPP_CLUSTER_MAX_ERROR_RATE", "0.05"))


def error_kind(error):
    """The class of what went wrong with one attempt, from load.py's record of it."""
    if error == "gave up":
        return "gave up"
    if error.isdigit():
        code = int(error)
        if code == 429:
            return "throttled (429)"
        return "server error (5xx)" if code >= 500 else "client error (4xx)"
    if error.startswith("bad answer"):
        return "bad answer"
    return "network"


load_file, phases_file, events_file, base = sys.argv[1:5]
load = json.load(open(load_file))
phases = [line.split(" ", 1) for line in open(phases_file).read().splitlines() if line.strip()]
phases = [(float(start), name) for start, name in phases]
rows = [line.split("|") for line in open(events_file).read().splitlines() if line.strip()]
stored = collections.Counter(event_id for event_id, _ in rows)
per_subject = collections.Counter(subject for _, subject in rows)

acknowledged = load["acknowledged"]
problems = []
if load.get("fatal"):
    problems.append(load["fatal"])
for crash in load.get("crashes", []):
    problems.append(f"a load worker died: {crash}")
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

failed = [a for a in load["attempts"] if not a[2]]
by_kind = collections.Counter(error_kind(a[3]) for a in failed)
print(f"errors by kind, over the whole run: {dict(by_kind) or 'none'}")
total = len(load["attempts"])
error_rate = len(failed) / total if total else 1.0
print(f"error rate over all {total} attempts: {error_rate:.2%} (at most {MAX_ERROR_RATE:.0%} allowed)")
if len(acknowledged) < MIN_WRITES:
    problems.append(f"only {len(acknowledged)} writes were acknowledged, fewer than the {MIN_WRITES} required: "
                    "the load did not really run (QSPP_CLUSTER_MIN_WRITES sets the minimum)")
if error_rate > MAX_ERROR_RATE:
    problems.append(f"{len(failed)} of {total} attempts failed ({error_rate:.2%}), above the "
                    f"{MAX_ERROR_RATE:.0%} allowed (QSPP_CLUSTER_MAX_ERROR_RATE)")
client = collections.Counter(a[3] for a in failed if error_kind(a[3]) == "client error (4xx)")
if client:
    problems.append(f"requests refused with a 4xx ({dict(client)}): a broken load or cluster, not a fault ridden out")
if by_kind["gave up"]:
    problems.append(f"{by_kind['gave up']} writes were never acknowledged within a minute of retries")
for (start, name), end in [(phases[0], ends[0]), (phases[-1], ends[-1])] if phases else []:
    ok = sum(1 for a in load["attempts"] if a[1] == "write" and a[2] and start <= a[0] < end)
    if ok == 0:
        problems.append(f"no write was acknowledged during the phase '{name}'")

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
if lost:
    problems.append(f"{len(lost)} acknowledged writes are not in the database")
if duplicated_ids:
    problems.append(f"{len(duplicated_ids)} acknowledged writes are in the database more than once")
if replay_mismatches:
    problems.append(f"{replay_mismatches} replays answered another event or nothing")
if extra < 0:
    problems.append(f"the database holds {-extra} fewer events for the load's subjects than were acknowledged")
if not phases:
    problems.append("no phases were recorded")
for problem in problems:
    print(f"FAIL: {problem}", file=sys.stderr)
if problems:
    sys.exit(1)
print("cluster run verified")
