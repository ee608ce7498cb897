#!/usr/bin/env python3
"""Line coverage of Sources/ from one test run, the server processes it started included.

Usage: coverage.py PROFILE_DIR BINARY...

PROFILE_DIR holds the .profraw files that the instrumented test bundle and qspp processes wrote
(LLVM_PROFILE_FILE=PROFILE_DIR/%p.profraw); BINARY are those instrumented executables. Prints the
total and every file that handles keys, erasure or retention, and fails if any of those is below
the floor: that code is where an untested line costs people their data.
"""
import json
import os
import re
import shutil
import subprocess
import sys

FLOOR = 90.0
# Files that hold, wrap, rotate or destroy keys, or erase and purge personal data, by name.
GUARDED = re.compile(r"(Key|Vault|Erasure|Erase|Shred|Retention|Rotation|RightsFulfilment)", re.IGNORECASE)


def toolchain_tool(name: str) -> str:
    swift = shutil.which("swift")
    if swift is None:
        sys.exit("coverage: swift is not on PATH")
    tool = os.path.join(os.path.dirname(os.path.realpath(swift)), name)
    if not os.access(tool, os.X_OK):
        sys.exit(f"coverage: {tool} is missing; the toolchain's own {name} must read its profiles")
    return tool


def main() -> int:
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    profile_dir, binaries = sys.argv[1], sys.argv[2:]
    raw = sorted(os.path.join(profile_dir, f) for f in os.listdir(profile_dir) if f.endswith(".profraw"))
    if not raw:
        sys.exit(f"coverage: no .profraw files in {profile_dir}; was the build instrumented?")
    merged = os.path.join(profile_dir, "merged.profdata")
    subprocess.run(
        [toolchain_tool("llvm-profdata"), "merge", "-sparse", "--failure-mode=all", "-o", merged, *raw], check=True
    )
    objects = [binaries[0]] + [arg for binary in binaries[1:] for arg in ("-object", binary)]
    exported = subprocess.run(
        [
            toolchain_tool("llvm-cov"), "export", "-summary-only", "-instr-profile", merged,
            "-ignore-filename-regex", r"(\.build|Tests)/", *objects,
        ],
        check=True, capture_output=True, text=True,
    )
    files = json.loads(exported.stdout)["data"][0]["files"]
    root = os.getcwd() + os.sep
    lines = {
        f["filename"].removeprefix(root): f["summary"]["lines"]
        for f in files if f["filename"].removeprefix(root).startswith("Sources/")
    }
    if not lines:
        sys.exit("coverage: the report names no file under Sources/")
    covered = sum(s["covered"] for s in lines.values())
    total = sum(s["count"] for s in lines.values())
    print(f"coverage: {covered * 100 / total:.1f}% of {total} lines in Sources/ ({len(lines)} files)")
    guarded = sorted(path for path in lines if GUARDED.search(os.path.basename(path)))
    failing = []
    for path in guarded:
        summary = lines[path]
        percent = summary["percent"] if summary["count"] else 100.0
        mark = "ok " if percent >= FLOOR else "LOW"
        print(f"coverage: {mark} {percent:5.1f}% {summary['covered']:4}/{summary['count']:<4} {path}")
        if percent < FLOOR:
            failing.append(path)
    if failing:
        print(f"coverage: {len(failing)} key, erasure or retention files below {FLOOR:.0f}%", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
