"""Which synonym groups apply: data/synonyms.txt plus an organisers' file in the data dir."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from marketplace.search.analysis import Synonyms, load_synonyms


def extra_synonyms_file(app: Flask) -> Path:
    configured = app.config.get("SEARCH_SYNONYMS_FILE")
    return Path(configured) if configured else Path(app.config["DATA_DIR"]) / "search" / "synonyms.txt"


def current_synonyms(app: Flask) -> Synonyms:
    return load_synonyms(extra_synonyms_file(app))
