"""List the msgids that still lack a usable translation; exit 1 if there are any.

Usage (repository root): .venv/bin/python scripts/untranslated.py [LANG ...]   (default: every
catalogue under translations/). A message counts as missing when its msgstr (or any plural form)
is empty, when it is marked fuzzy (compile skips fuzzy entries, so the page would show
Vietnamese), or when its %(name)s placeholders differ from the msgid's (the page would crash or
lose a value). Run `make translations-update` first so the catalogue holds every current msgid.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"
PLACEHOLDER = re.compile(r"%(?:\([^)]+\))?[-#0 +]*\d*(?:\.\d+)?[sdifr%]")


def placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text))


def placeholders_match(ids: tuple[str, ...], strings: tuple[str, ...]) -> bool:
    """A singular msgstr has exactly the msgid's placeholders; a plural form may drop some
    (English "One photo" for "%(n)s photos") but never invent one."""
    if len(ids) == 1:
        return placeholders(strings[0]) == placeholders(ids[0])
    allowed = {p for text in ids for p in placeholders(text)}
    return all(set(placeholders(s)) <= allowed for s in strings)


def problems(po_path: Path) -> list[tuple[str, str]]:
    """(reason, msgid) for every message of the catalogue that needs a translator."""
    with po_path.open("rb") as handle:
        catalog = read_po(handle)
    found: list[tuple[str, str]] = []
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        name = f"[{message.context}] {ids[0]}" if message.context else ids[0]
        if not all(strings):
            found.append(("empty", name))
        elif message.fuzzy:
            found.append(("fuzzy", name))
        elif message.python_format and not placeholders_match(ids, strings):
            found.append(("placeholders differ", name))
    return found


def main(argv: list[str]) -> int:
    languages = argv or sorted(p.name for p in TRANSLATIONS.iterdir() if (p / "LC_MESSAGES/messages.po").is_file())
    total = 0
    for lang in languages:
        po_path = TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po"
        if not po_path.is_file():
            print(f"{lang}: no catalogue at {po_path.relative_to(ROOT)}", file=sys.stderr)
            total += 1
            continue
        found = problems(po_path)
        for reason, msgid in found:
            print(f"{lang}\t{reason}\t{msgid!r}")
        print(f"{lang}: {len(found)} message(s) need translating", file=sys.stderr)
        total += len(found)
    return 1 if total else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
