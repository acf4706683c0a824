"""The forum meeting-scheduling problem: its input (`Slot`, `Meeting`, `Problem`), its output
(`Placement`, `Schedule`), input validation and the constraint checker `violations()`. Pure: no Flask,
no database, no search. It lives apart from the solver (scheduler.py) so that the organiser's page,
the tests and the benchmark can describe a problem and check any placement without the search code.

Constraints (hard): a participant is in at most one meeting per slot and only in slots they are
available in; a slot holds at most its table count; a participant has at most `max_per_participant`
meetings; locked meetings stay exactly where they are and count toward all of the above. A lock that
itself breaks a constraint is kept and reported in `Schedule.locked_conflicts`.

Objective (lexicographic): most accepted meetings placed, then highest total match score of all
placed meetings, then least idle time (gaps between a participant's first and last meeting within a
session).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = [
    "Meeting",
    "Placement",
    "Problem",
    "Schedule",
    "Slot",
    "idle_slots",
    "table_count",
    "validate_problem",
    "violations",
]


@dataclass(frozen=True)
class Slot:
    id: int
    order: int  # global time order (0, 1, 2, ...); two slots are "adjacent" when
    session_id: int  # they are in the same session and their orders differ by 1


@dataclass(frozen=True)
class Meeting:
    id: int
    a: int  # participant ids (registration ids)
    b: int
    score: float  # match score in [0, 1]
    accepted: bool  # True: an accepted request (placed first); False: an opted-in recommendation
    locked: tuple[int, int] | None = None  # (slot_id, table) kept as is


@dataclass(frozen=True)
class Problem:
    slots: tuple[Slot, ...]
    tables: int  # tables numbered 1..tables in every slot
    availability: Mapping[int, frozenset[int]]  # participant -> slot ids; absent: available in every slot
    max_per_participant: int
    meetings: tuple[Meeting, ...]
    slot_tables: Mapping[int, int] | None = None  # optional per-slot table count overriding `tables`
    time_limit_s: float = 3.0


@dataclass(frozen=True)
class Placement:
    meeting_id: int
    slot_id: int
    table: int


@dataclass
class Schedule:
    placements: list[Placement]
    unplaced: list[int]  # meeting ids not placed
    locked_conflicts: list[int]  # locked meetings whose lock breaks a constraint (kept anyway, reported)
    accepted_placed: int
    total_score: float
    idle_slots: int  # sum over participants of gaps between their first and last meeting within a session


# --------------------------------------------------------------------------------------------------
# Validation and helpers shared by the scheduler and violations()


def table_count(problem: Problem, slot_id: int) -> int:
    if problem.slot_tables is not None and slot_id in problem.slot_tables:
        return problem.slot_tables[slot_id]
    return problem.tables


def validate_problem(problem: Problem) -> None:
    slot_ids = [s.id for s in problem.slots]
    if len(set(slot_ids)) != len(slot_ids):
        raise ValueError("duplicate slot id")
    known = set(slot_ids)
    if problem.tables < 0:
        raise ValueError("tables must be >= 0")
    if problem.max_per_participant < 0:
        raise ValueError("max_per_participant must be >= 0")
    for sid, count in (problem.slot_tables or {}).items():
        if sid not in known:
            raise ValueError(f"slot_tables names unknown slot {sid}")
        if count < 0:
            raise ValueError(f"slot {sid}: table count must be >= 0")
    seen: set[int] = set()
    for m in problem.meetings:
        if m.id in seen:
            raise ValueError(f"duplicate meeting id {m.id}")
        seen.add(m.id)
        if m.a == m.b:
            raise ValueError(f"meeting {m.id}: a participant cannot meet themselves")
        if not (isinstance(m.score, int | float) and math.isfinite(m.score) and 0.0 <= m.score <= 1.0):
            raise ValueError(f"meeting {m.id}: score must be in [0, 1]")
        if m.locked is not None:
            slot_id, table = m.locked
            if slot_id not in known:
                raise ValueError(f"meeting {m.id}: locked in unknown slot {slot_id}")
            if table < 1:
                raise ValueError(f"meeting {m.id}: locked at invalid table {table}")


def _is_available(problem: Problem, participant: int, slot_id: int) -> bool:
    slots = problem.availability.get(participant)
    return slots is None or slot_id in slots


def idle_slots(problem: Problem, busy: Mapping[int, set[int]]) -> int:
    """Sum over participants and sessions of the session's slots between a participant's first and
    last meeting in which they have no meeting. `busy`: participant -> slot ids they meet in."""
    by_session: dict[int, list[tuple[int, int]]] = {}
    for s in problem.slots:
        by_session.setdefault(s.session_id, []).append((s.order, s.id))
    for lst in by_session.values():
        lst.sort()
    idle = 0
    for slot_ids in busy.values():
        for lst in by_session.values():
            positions = [i for i, (_, sid) in enumerate(lst) if sid in slot_ids]
            if positions:
                idle += positions[-1] - positions[0] + 1 - len(positions)
    return idle


def violations(problem: Problem, placements: Iterable[Placement]) -> list[str]:
    """Every broken constraint of `placements` for `problem`, as readable messages (empty: valid).

    Checks: known meeting and slot, table within the slot's count, one meeting per (slot, table),
    a meeting placed once, locked meetings exactly at their lock, nobody in two meetings in one slot,
    availability, and at most `max_per_participant` meetings per participant. A lock that breaks a
    constraint shows up here too (schedule() keeps such locks and reports them)."""
    meetings = {m.id: m for m in problem.meetings}
    slots = {s.id: s for s in problem.slots}
    out: list[str] = []
    placed: dict[int, Placement] = {}
    tables_used: dict[tuple[int, int], int] = {}
    in_slot: dict[tuple[int, int], int] = {}  # (participant, slot) -> meeting id
    load: dict[int, int] = {}
    for p in placements:
        m = meetings.get(p.meeting_id)
        if m is None:
            out.append(f"meeting {p.meeting_id}: unknown meeting")
            continue
        if p.meeting_id in placed:
            out.append(f"meeting {p.meeting_id}: placed more than once")
            continue
        placed[p.meeting_id] = p
        if p.slot_id not in slots:
            out.append(f"meeting {m.id}: unknown slot {p.slot_id}")
            continue
        if m.locked is not None and m.locked != (p.slot_id, p.table):
            out.append(f"meeting {m.id}: locked at {m.locked} but placed at {(p.slot_id, p.table)}")
        if not 1 <= p.table <= table_count(problem, p.slot_id):
            out.append(f"meeting {m.id}: table {p.table} does not exist in slot {p.slot_id}")
        other = tables_used.get((p.slot_id, p.table))
        if other is not None:
            out.append(f"meeting {m.id}: table {p.table} in slot {p.slot_id} already holds meeting {other}")
        else:
            tables_used[(p.slot_id, p.table)] = m.id
        for person in (m.a, m.b):
            if not _is_available(problem, person, p.slot_id):
                out.append(f"meeting {m.id}: participant {person} is not available in slot {p.slot_id}")
            other = in_slot.get((person, p.slot_id))
            if other is not None:
                out.append(f"meeting {m.id}: participant {person} already meets in slot {p.slot_id} (meeting {other})")
            else:
                in_slot[(person, p.slot_id)] = m.id
            load[person] = load.get(person, 0) + 1
    for person, count in sorted(load.items()):
        if count > problem.max_per_participant:
            out.append(f"participant {person}: {count} meetings, more than {problem.max_per_participant}")
    for m in problem.meetings:
        if m.locked is not None and m.id not in placed:
            out.append(f"meeting {m.id}: locked but not placed")
    return out


# --------------------------------------------------------------------------------------------------
# The search state
