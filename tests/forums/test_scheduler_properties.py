"""Property tests (Hypothesis) of the meeting scheduler over random small instances: it never
double-books a participant or a table, never breaks availability or the per-participant limit, never
moves a locked meeting, and its result is valid (apart from the locks it reports as conflicting).
On tiny instances the accepted count equals the brute-force optimum."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from marketplace.forums.schedule_problem import Meeting, Problem, Slot, violations
from marketplace.forums.scheduler import schedule

PROFILE = settings(max_examples=100, database=None, deadline=None, derandomize=True)
FEW = settings(max_examples=30, database=None, deadline=None, derandomize=True)


@st.composite
def problems(draw, max_meetings: int = 14, max_slots: int = 5, max_people: int = 8, locks: bool = True) -> Problem:
    n_slots = draw(st.integers(1, max_slots))
    n_sessions = draw(st.integers(1, min(2, n_slots)))
    slot_ids = draw(st.permutations([10 + 3 * k for k in range(n_slots)]))
    slots = tuple(Slot(id=slot_ids[k], order=k, session_id=k * n_sessions // n_slots + 1) for k in range(n_slots))
    n_people = draw(st.integers(2, max_people))
    people = list(range(1, n_people + 1))
    availability = {}
    for person in people:
        if draw(st.booleans()):
            availability[person] = frozenset(draw(st.sets(st.sampled_from(slot_ids))))
    slot_tables = None
    if draw(st.booleans()):
        slot_tables = {sid: draw(st.integers(0, 3)) for sid in draw(st.sets(st.sampled_from(slot_ids)))}
    meetings = []
    for i in range(draw(st.integers(0, max_meetings))):
        a = draw(st.sampled_from(people))
        b = draw(st.sampled_from([p for p in people if p != a]))
        locked = None
        if locks and draw(st.integers(0, 5)) == 0:
            locked = (draw(st.sampled_from(slot_ids)), draw(st.integers(1, 3)))
        meetings.append(
            Meeting(
                id=100 + 7 * i,
                a=a,
                b=b,
                score=draw(st.sampled_from([0.0, 0.1, 0.25, 0.4, 0.5, 0.65, 0.8, 1.0])),
                accepted=draw(st.booleans()),
                locked=locked,
            )
        )
    return Problem(
        slots=slots,
        tables=draw(st.integers(0, 3)),
        availability=availability,
        max_per_participant=draw(st.integers(0, 4)),
        meetings=tuple(meetings),
        slot_tables=slot_tables,
    )


def table_count(p: Problem, slot_id: int) -> int:
    return p.slot_tables[slot_id] if p.slot_tables and slot_id in p.slot_tables else p.tables


@PROFILE
@given(problems())
def test_schedule_never_breaks_a_constraint(p: Problem) -> None:
    result = schedule(p)
    by_id = {m.id: m for m in p.meetings}
    placed = {pl.meeting_id: pl for pl in result.placements}
    # every meeting exactly once: placed or unplaced
    assert len(placed) == len(result.placements)
    assert sorted([*placed, *result.unplaced]) == sorted(by_id)
    # locks never move; only locked meetings can be reported as conflicting
    for m in p.meetings:
        if m.locked is not None:
            assert (placed[m.id].slot_id, placed[m.id].table) == m.locked
    assert set(result.locked_conflicts) <= {m.id for m in p.meetings if m.locked}
    # no table holds two meetings unless both are conflicting locks
    tables = Counter((pl.slot_id, pl.table) for pl in result.placements if pl.meeting_id not in result.locked_conflicts)
    assert max(tables.values(), default=0) <= 1
    for pl in result.placements:
        m = by_id[pl.meeting_id]
        if m.locked is not None:
            continue
        # unlocked meetings: real table, both sides available, nobody else of theirs in the slot
        assert 1 <= pl.table <= table_count(p, pl.slot_id)
        assert all(pl.slot_id in p.availability.get(x, {pl.slot_id}) for x in (m.a, m.b))
        others = [o for o in result.placements if o.slot_id == pl.slot_id and o.meeting_id != m.id]
        assert all({by_id[o.meeting_id].a, by_id[o.meeting_id].b}.isdisjoint({m.a, m.b}) for o in others)
        assert all((o.table != pl.table) for o in others)
    # per-participant limit, which locks count toward: nobody gets an unlocked meeting beyond it
    load = Counter(x for pl in result.placements for x in (by_id[pl.meeting_id].a, by_id[pl.meeting_id].b))
    for pl in result.placements:
        m = by_id[pl.meeting_id]
        if m.locked is None:
            assert load[m.a] <= p.max_per_participant and load[m.b] <= p.max_per_participant
    # without the conflicting locks the schedule is fully valid
    keep = tuple(m for m in p.meetings if m.id not in result.locked_conflicts)
    assert (
        violations(
            replace(p, meetings=keep), [pl for pl in result.placements if pl.meeting_id not in result.locked_conflicts]
        )
        == []
    )
    if not result.locked_conflicts:
        assert violations(p, result.placements) == []
    # summary
    assert result.accepted_placed == sum(1 for mid in placed if by_id[mid].accepted)
    assert abs(result.total_score - sum(by_id[mid].score for mid in placed)) < 1e-9


@FEW
@given(problems(locks=False), st.data())
def test_relocking_a_schedule_keeps_it(p: Problem, data: st.DataObject) -> None:
    """Locks taken from a valid schedule never conflict, stay in place, and the rest is still valid."""
    first = schedule(p)
    chosen = (
        data.draw(st.sets(st.sampled_from([pl.meeting_id for pl in first.placements]))) if first.placements else set()
    )
    where = {pl.meeting_id: (pl.slot_id, pl.table) for pl in first.placements}
    relocked = replace(
        p, meetings=tuple(replace(m, locked=where[m.id] if m.id in chosen else None) for m in p.meetings)
    )
    second = schedule(relocked)
    assert second.locked_conflicts == []
    assert violations(relocked, second.placements) == []
    assert {pl.meeting_id: (pl.slot_id, pl.table) for pl in second.placements if pl.meeting_id in chosen} == {
        mid: where[mid] for mid in chosen
    }
    # relocking part of a schedule never makes the best one unreachable: as many accepted meetings
    assert second.accepted_placed >= first.accepted_placed


@FEW
@given(problems(locks=False))
def test_same_input_same_output(p: Problem) -> None:
    assert schedule(p) == schedule(replace(p, meetings=tuple(reversed(p.meetings)), slots=tuple(reversed(p.slots))))


def brute_force(p: Problem) -> tuple[int, float]:
    """Best (accepted count, total score) over every assignment of unlocked meetings to slots (or
    none), with locks fixed: exhaustive, for tiny problems only."""
    slot_ids = [s.id for s in p.slots]
    busy: set[tuple[int, int]] = set()
    used: Counter[int] = Counter()
    load: Counter[int] = Counter()
    acc = 0
    score = 0.0
    for m in p.meetings:
        if m.locked is not None:
            busy |= {(m.a, m.locked[0]), (m.b, m.locked[0])}
            used[m.locked[0]] += 1
            load.update((m.a, m.b))
            acc += m.accepted
            score += m.score
    free = [m for m in p.meetings if m.locked is None]
    best = (acc, round(score, 9))

    def go(idx: int, acc: int, score: float) -> None:
        nonlocal best
        if idx == len(free):
            best = max(best, (acc, round(score, 9)))
            return
        m = free[idx]
        go(idx + 1, acc, score)
        if load[m.a] >= p.max_per_participant or load[m.b] >= p.max_per_participant:
            return
        for sid in slot_ids:
            if (m.a, sid) in busy or (m.b, sid) in busy or used[sid] >= table_count(p, sid):
                continue
            if not all(sid in p.availability.get(x, {sid}) for x in (m.a, m.b)):
                continue
            busy.update({(m.a, sid), (m.b, sid)})
            used[sid] += 1
            load.update((m.a, m.b))
            go(idx + 1, acc + m.accepted, score + m.score)
            busy.difference_update({(m.a, sid), (m.b, sid)})
            used[sid] -= 1
            load.subtract((m.a, m.b))

    go(0, acc, score)
    return best


@settings(max_examples=100, database=None, deadline=None, derandomize=True)
@given(problems(max_meetings=7, max_slots=3, max_people=6, locks=False))
def test_accepted_count_is_optimal_on_tiny_instances(p: Problem) -> None:
    result = schedule(p)
    best_acc, _ = brute_force(p)
    assert result.accepted_placed == best_acc
