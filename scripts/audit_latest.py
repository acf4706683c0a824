"""A partial dependency audit for networks where pip-audit cannot reach advisory data.

PyPI's project JSON (/pypi/<name>/json) carries a `vulnerabilities` list for the project's
latest release. For every pin in requirements.txt that IS the latest release, that list is the
same answer pip-audit would give; for a pin behind the latest release this script says so (and
cannot tell whether the pin is affected: that needs the per-release JSON or OSV).

Usage: .venv/bin/python scripts/audit_latest.py [requirements.txt]   (exit 1 on any finding or
any package it could not look up)
"""

from __future__ import annotations

import json
import re
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)")


def pins(path: Path) -> list[tuple[str, str]]:
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        match = PIN.match(line.strip())
        if match:
            found.append((match.group(1), match.group(2)))
    return found


def look_up(name: str) -> dict | None:
    try:
        with urllib.request.urlopen(f"https://pypi.org/pypi/{name}/json", timeout=20) as response:  # noqa: S310
            return json.load(response)
    except (urllib.error.URLError, TimeoutError, ValueError):
        return None


def audit(name: str, pinned: str) -> tuple[str, str, str, str]:
    data = look_up(name)
    if data is None:
        return name, pinned, "?", "NOT CHECKED: PyPI did not answer"
    latest = data["info"]["version"]
    if latest != pinned:
        return name, pinned, latest, "NOT CHECKED: the pin is not the latest release"
    vulns = data.get("vulnerabilities") or []
    if not vulns:
        return name, pinned, latest, "no known vulnerability"
    ids = ", ".join(v.get("id", "?") for v in vulns)
    return name, pinned, latest, f"VULNERABLE: {ids}"


def main() -> int:
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "requirements.txt")
    with ThreadPoolExecutor(8) as pool:
        rows = sorted(pool.map(lambda pin: audit(*pin), pins(path)), key=lambda r: r[0].lower())
    width = max(len(r[0]) for r in rows)
    print(f"{'package':<{width}}  {'pinned':<12} {'latest':<12} result")
    for name, pinned, latest, result in rows:
        print(f"{name:<{width}}  {pinned:<12} {latest:<12} {result}")
    clean = sum(r[3] == "no known vulnerability" for r in rows)
    unchecked = sum(r[3].startswith("NOT CHECKED") for r in rows)
    vulnerable = sum(r[3].startswith("VULNERABLE") for r in rows)
    print(f"\n{len(rows)} pins: {clean} with no known vulnerability, {vulnerable} vulnerable, {unchecked} not checked")
    return 1 if vulnerable or unchecked else 0


if __name__ == "__main__":
    sys.exit(main())
