#!/usr/bin/env python3
"""Checks that docs/architecture.md's target table names every target in Package.swift, with the same
targets it depends on, and that the layering rules hold: no domain target depends on Storage, Services
or an HTTP target, Services knows no HTTP, and no target below the HTTP ones imports an HTTP module or a
database driver. Exits non-zero with what differs."""
import pathlib
import re
import sys

root = pathlib.Path(__file__).resolve().parents[2]
manifest = (root / "Package.swift").read_text()
doc = (root / "docs/architecture.md").read_text()

# Every target declaration in the manifest, with the local targets it depends on (quoted names; products
# are `.product(...)` and carry their own package).
declared = {}
for match in re.finditer(r'\.(target|executableTarget|testTarget|systemLibrary)\(\s*name:\s*"([^"]+)"', manifest):
    name = match.group(2)
    rest = manifest[match.end():]
    deps_match = re.match(r'\s*,\s*dependencies:\s*\[', rest)
    deps = set()
    if deps_match:
        depth, i = 1, deps_match.end()
        while depth and i < len(rest):
            depth += {"[": 1, "]": -1}.get(rest[i], 0)
            i += 1
        body = re.sub(r'\.product\([^)]*\)', "", rest[deps_match.end():i - 1])
        deps = set(re.findall(r'"([^"]+)"', body))
    declared[name] = deps

# The doc's table rows: | `Name` | `Dep`, `Dep` (targets) | ... |
section = doc.split("## Targets", 1)[1].split("\n## ", 1)[0]
documented = {}
for line in section.splitlines():
    cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
    if len(cells) < 3 or not cells[0].startswith("`"):
        continue
    names = re.findall(r"`([^`]+)`", cells[0])
    deps = set(re.findall(r"`([^`]+)`", cells[1]))
    for name in names:
        documented[name] = deps

problems = []
for name in sorted(set(declared) | set(documented)):
    if name not in documented:
        problems.append(f"{name}: in Package.swift but not in docs/architecture.md's target table")
    elif name not in declared:
        problems.append(f"{name}: in docs/architecture.md but not in Package.swift")
    elif declared[name] != documented[name]:
        problems.append(
            f"{name}: Package.swift depends on {sorted(declared[name])}, the doc says {sorted(documented[name])}")

# A target may import only the local targets it names: with no edge in the manifest, a clean build may
# compile the importer first and fail, while an incremental one passes on a stale module.
paths = {"QSPPTestSupport": root / "Tests/TestSupport"}
local_import = re.compile(r"^\s*(?:@\S+\s+)?(?:public |package |internal )?import (\w+)\s*$", re.M)
for name, deps in declared.items():
    folder = paths.get(name) or next(
        (candidate for candidate in (root / "Sources" / name, root / "Tests" / name) if candidate.is_dir()), None)
    if folder is None:
        continue
    for path in sorted(folder.rglob("*.swift")):
        for imported in local_import.findall(path.read_text()):
            if imported in declared and imported != name and imported not in deps:
                problems.append(f"{path.relative_to(root)} imports {imported}, which {name} does not depend on")

domain = ["Kernel", "PQCrypto", "Identity", "Consent", "Privacy", "Valuation"]
http = {"App"}
for name in domain:
    bad = declared.get(name, set()) & ({"Storage", "Services"} | http)
    if bad:
        problems.append(f"{name} is a domain target but depends on {sorted(bad)}")
if declared.get("Services", set()) & http:
    problems.append("Services depends on an HTTP target")
forbidden = re.compile(r"^\s*(?:@\S+\s+)?(?:public |package )?import (Hummingbird\w*|PostgresNIO|SQLiteNIO|NIOHTTP1|AsyncHTTPClient)\b", re.M)
http_only = re.compile(r"^\s*(?:@\S+\s+)?(?:public |package )?import (Hummingbird\w*|NIOHTTP1|AsyncHTTPClient)\b", re.M)
for name in domain + ["Services", "Storage", "Telemetry"]:
    rule = http_only if name in ("Storage", "Telemetry") else forbidden
    for path in sorted((root / "Sources" / name).rglob("*.swift")):
        hit = rule.search(path.read_text())
        if hit:
            problems.append(f"{path.relative_to(root)} imports {hit.group(1)}")

if problems:
    print("architecture check failed:")
    for problem in problems:
        print("  - " + problem)
    sys.exit(1)
print(f"architecture: {len(declared)} targets match docs/architecture.md; the layering holds")
