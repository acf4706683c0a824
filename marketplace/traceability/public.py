"""The public side of a batch: finding it by the code its QR label carries, counting visitors'
scans, and the chain as the trace page and the API show it (a dated timeline, public destinations).

Nothing here changes a batch's facts, so nothing needs a manager; kept apart from services.py,
which holds the producers' operations and the edit history.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa

from marketplace.core.dates import to_local
from marketplace.extensions import db
from marketplace.traceability.models import Batch, BatchDestination, BatchScanCounter
from marketplace.traceability.services import can_manage_batch

PUBLIC_CODE_RE = re.compile(r"^[A-Za-z0-9_-]{16,40}$")

# Obvious robots by User-Agent: crawlers, link previews, command-line clients, headless browsers.
# (Zalo's and Facebook's in-app browsers are people scanning codes: they are counted.)
_BOT_UA = re.compile(
    r"bot\b|bot/|crawl|spider|slurp|preview|facebookexternalhit|embedly|monitor|curl|wget|python|httpx|"
    r"http-client|okhttp|go-http|java/|libwww|headless|phantomjs|lighthouse|pingdom|uptime",
    re.IGNORECASE,
)

# --------------------------------------------------------------------------- public codes


def find_by_public_code(code: str | None) -> Batch | None:
    """The batch with this public code (any status; callers decide who may see it)."""
    if not code or not PUBLIC_CODE_RE.fullmatch(code):
        return None
    return db.session.scalar(sa.select(Batch).where(Batch.public_code == code))


def public_batch(code: str | None) -> Batch | None:
    """A published (or recalled) batch by its public code; drafts are nobody's business."""
    batch = find_by_public_code(code)
    return batch if batch is not None and batch.is_published else None


# --------------------------------------------------------------------------- scans


def is_bot(user_agent: str | None) -> bool:
    agent = (user_agent or "").strip()
    return not agent or _BOT_UA.search(agent) is not None


def should_count_scan(user, batch: Batch, user_agent: str | None, from_same_page: bool = False) -> bool:
    """A visitor's view: not the producer's own (nor staff's), not an obvious bot, not a reload
    of the page through the language switch (`from_same_page`)."""
    if not batch.is_published or from_same_page or is_bot(user_agent):
        return False
    if user is not None and getattr(user, "is_authenticated", False):
        if getattr(user, "is_staff", False) or can_manage_batch(user, batch):
            return False
    return True


def record_scan(batch: Batch) -> None:
    """Add one to the batch's counter, atomically (concurrent scans never lose a count)."""
    result = db.session.execute(
        sa.update(BatchScanCounter)
        .where(BatchScanCounter.batch_id == batch.id)
        .values(scans=BatchScanCounter.scans + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 0:
        db.session.add(BatchScanCounter(batch_id=batch.id, scans=1))
    db.session.flush()


# --------------------------------------------------------------------------- the public page


@dataclass(frozen=True)
class TimelineEvent:
    kind: str  # input | step | produced | inspection | destination | recall
    on: date | None
    item: Any


_PHASES = {"input": 0, "step": 1, "produced": 2, "inspection": 3, "destination": 4, "recall": 5}


def public_destinations(batch: Batch) -> list[BatchDestination]:
    """Destinations shown to the public: orders, and sales points that are approved."""
    return [
        d for d in batch.destinations if d.kind == "order" or (d.sales_point is not None and d.sales_point.is_public)
    ]


def timeline(batch: Batch, public: bool = True) -> list[TimelineEvent]:
    """The chain in date order: inputs, processing, production, inspections, destinations, recall.

    Undated inputs sit just before production; undated destinations just after it."""
    events = [TimelineEvent("input", i.received_on, i) for i in batch.inputs]
    events += [TimelineEvent("step", s.started_on, s) for s in batch.steps]
    events.append(TimelineEvent("produced", batch.produced_on, batch))
    events += [TimelineEvent("inspection", i.inspected_on, i) for i in batch.inspections]
    destinations = public_destinations(batch) if public else batch.destinations
    events += [TimelineEvent("destination", d.shipped_on, d) for d in destinations]
    if batch.is_recalled and batch.recalled_at is not None:
        events.append(TimelineEvent("recall", to_local(batch.recalled_at).date(), batch))

    def key(event: TimelineEvent):
        return (event.on or batch.produced_on, _PHASES[event.kind], getattr(event.item, "id", 0) or 0)

    return sorted(events, key=key)
