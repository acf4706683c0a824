"""WSGI targets for the benchmarks, served by gunicorn (`bench/load.py`, `bench/fuzz.sh`).

- `bench.load_app:app`: the marketplace as `make run` serves it (config from MARKETPLACE_ENV, data
  from MARKETPLACE_DATA_DIR), with rate limits off: one client address sends every request here.
- `bench.load_app:hello`: a bare Flask app answering "hello" at every path (the floor).
"""

from __future__ import annotations

import sys
from pathlib import Path

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from marketplace import create_app  # noqa: E402

app = create_app(None, {"RATELIMIT_ENABLED": False})

hello = Flask("hello")


@hello.get("/", defaults={"path": ""})
@hello.get("/<path:path>")
def say_hello(path: str) -> str:
    return "hello"
