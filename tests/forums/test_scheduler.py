"""Unit tests of the pure meeting scheduler: each constraint, locks, the objective order, tables,
idle time, determinism and violations()."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from marketplace.forums.schedule_problem import Meeting, Placement, Problem, Schedule, Slot, violations
from marketplace.forums.scheduler import schedule


def slots(n: int, sessions: int = 1) -> tuple[Slot, ...]:
    per = n // sessions
    return tuple(Slot(id=k + 1, order=k, session_id=k // per + 1) for k in range(n))


def problem(
    meetings: list[Meeting],
    n_slots: int = 1,
    tables: int = 10,
    max_per: int = 10,
    availability: dict[int, frozenset[int]] | None = None,
    sessions: int = 1,
    slot_tables: dict[int, int] | None = None,
) -> Problem:
    return Problem(
        slots=slots(n_slots, sessions),
        tables=tables,
        availability=availability or {},
        max_per_participant=max_per,
        meetings=tuple(meetings),
        slot_tables=slot_tables,
    )


def m(id: int, a: int, b: int, score: float = 0.5, accepted: bool = True, locked: tuple[int, int] | None = None):
    return Meeting(id=id, a=a, b=b, score=score, accepted=accepted, locked=locked)


def where(result: Schedule) -> dict[int, tuple[int, int]]:
    return {p.meeting_id: (p.slot_id, p.table) for p in result.placements}


def valid(p: Problem, result: Schedule) -> Schedule:
    assert violations(p, result.placements) == []
    assert sorted([*where(result), *result.unplaced]) == sorted(x.id for x in p.meetings)
    return result


# ---------------------------------------------------------------------------------------- input


@pytest.mark.parametrize(
    "bad",
    [
        problem([m(1, 5, 5)]),  # a participant meeting themselves
        problem([m(1, 1, 2, locked=(99, 1))]),  # locked in an unknown slot
        problem([m(1, 1, 2, locked=(1, 0))]),  # locked at table 0
        problem([m(1, 1, 2), m(1, 3, 4)]),  # duplicate meeting id
        problem([m(1, 1, 2, score=1.5)]),  # score outside [0, 1]
        problem([m(1, 1, 2, score=float("nan"))]),
        problem([m(1, 1, 2)], tables=-1),
        problem([m(1, 1, 2)], max_per=-1),
        problem([m(1, 1, 2)], slot_tables={42: 3}),  # unknown slot in slot_tables
        Problem(slots=(Slot(1, 0, 1), Slot(1, 1, 1)), tables=1, availability={}, max_per_participant=1, meetings=()),
    ],
)
def test_invalid_input_is_rejected(bad: Problem) -> None:
    with pytest.raises(ValueError):
        schedule(bad)


def test_empty_problem() -> None:
    result = schedule(problem([]))
    assert result == Schedule([], [], [], 0, 0.0, 0)


# ---------------------------------------------------------------------------------- constraints


def test_nobody_in_two_places_at_once() -> None:
    p = problem([m(1, 1, 2), m(2, 1, 3), m(3, 2, 3)], n_slots=1)
    result = valid(p, schedule(p))
    assert len(result.placements) == 1  # any two of the three share a participant
    p2 = replace(p, slots=slots(3))
    result2 = valid(p2, schedule(p2))
    assert len(result2.placements) == 3
    assert len({s for s, _ in where(result2).values()}) == 3


def test_availability_is_respected() -> None:
    p = problem([m(1, 1, 2), m(2, 3, 4)], n_slots=3, availability={1: frozenset({2}), 4: frozenset()})
    result = valid(p, schedule(p))
    assert where(result)[1][0] == 2
    assert result.unplaced == [2]  # participant 4 is available nowhere


def test_table_count_per_slot() -> None:
    meetings = [m(i, 2 * i, 2 * i + 1) for i in range(1, 6)]  # five disjoint meetings
    p = problem(meetings, n_slots=2, tables=2)
    result = valid(p, schedule(p))
    assert len(result.placements) == 4
    per_slot = [s for s, _ in where(result).values()]
    assert per_slot.count(1) == 2 and per_slot.count(2) == 2
    assert all(1 <= t <= 2 for _, t in where(result).values())


def test_slot_tables_override() -> None:
    meetings = [m(i, 2 * i, 2 * i + 1) for i in range(1, 5)]
    p = problem(meetings, n_slots=2, tables=1, slot_tables={1: 0, 2: 3})
    result = valid(p, schedule(p))
    assert sorted(where(result).values()) == [(2, 1), (2, 2), (2, 3)]


def test_max_per_participant_keeps_the_best() -> None:
    p = problem(
        [m(1, 1, 2, 0.2), m(2, 1, 3, 0.9), m(3, 1, 4, 0.7)],
        n_slots=3,
        max_per=2,
    )
    result = valid(p, schedule(p))
    assert sorted(where(result)) == [2, 3]
    assert result.unplaced == [1]
    assert result.total_score == pytest.approx(1.6)


def test_zero_limits_place_nothing() -> None:
    assert schedule(problem([m(1, 1, 2)], max_per=0)).unplaced == [1]
    assert schedule(problem([m(1, 1, 2)], tables=0)).unplaced == [1]


# ---------------------------------------------------------------------------------------- locks


def test_locked_meetings_stay_and_count() -> None:
    p = problem(
        [m(1, 1, 2, locked=(2, 3)), m(2, 1, 5), m(3, 6, 7), m(4, 1, 8)],
        n_slots=2,
        tables=3,
        max_per=2,
    )
    result = valid(p, schedule(p))
    assert where(result)[1] == (2, 3)
    assert result.locked_conflicts == []
    # participant 1: the lock counts toward the limit of 2, and slot 2 is taken for them
    placed_1 = [mid for mid in (2, 4) if mid in where(result)]
    assert len(placed_1) == 1
    assert where(result)[placed_1[0]][0] == 1


def test_lock_counts_toward_capacity() -> None:
    p = problem([m(1, 1, 2, locked=(1, 1)), m(2, 3, 4)], n_slots=2, tables=1)
    result = valid(p, schedule(p))
    assert where(result) == {1: (1, 1), 2: (2, 1)}


def test_locked_table_kept_and_others_get_lowest_free_tables() -> None:
    p = problem([m(1, 1, 2, locked=(1, 2)), m(2, 3, 4), m(3, 5, 6)], n_slots=1, tables=3)
    result = valid(p, schedule(p))
    assert where(result) == {1: (1, 2), 2: (1, 1), 3: (1, 3)}


@pytest.mark.parametrize(
    "meetings,conflicts,kwargs",
    [
        ([m(1, 1, 2, locked=(1, 1))], [1], {"availability": {2: frozenset({2})}}),  # unavailable
        ([m(1, 1, 2, locked=(1, 1)), m(2, 1, 3, locked=(1, 2))], [2], {}),  # double booking
        ([m(1, 1, 2, locked=(1, 1)), m(2, 3, 4, locked=(1, 1))], [2], {}),  # same table
        ([m(1, 1, 2, locked=(1, 4))], [1], {"tables": 3}),  # table does not exist
        ([m(1, 1, 2, locked=(1, 1)), m(2, 1, 3, locked=(2, 1))], [2], {"max_per": 1}),  # over the limit
    ],
)
def test_infeasible_locks_are_kept_and_reported(meetings, conflicts, kwargs) -> None:
    p = problem(meetings, n_slots=2, **kwargs)
    result = schedule(p)
    assert result.locked_conflicts == conflicts
    assert {x.id: x.locked for x in meetings} == where(result)  # kept exactly where they are
    assert violations(p, result.placements)  # and violations() shows the problem


def test_conflicting_lock_still_blocks_others() -> None:
    # lock 2 double-books participant 1 in slot 1; it stays, so meeting 3 (1-9) can only go to slot 2
    p = problem(
        [m(1, 1, 2, locked=(1, 1)), m(2, 1, 3, locked=(1, 2)), m(3, 1, 9), m(4, 3, 8)],
        n_slots=2,
    )
    result = schedule(p)
    assert result.locked_conflicts == [2]
    assert where(result)[3][0] == 2
    assert where(result)[4][0] == 2  # participant 3 is busy in slot 1 with the conflicting lock


def test_rerun_keeps_locks() -> None:
    rng = random.Random(3)
    meetings = [m(i, rng.randint(1, 6), rng.randint(7, 12), round(rng.random(), 2)) for i in range(1, 25)]
    p = problem(meetings, n_slots=4, tables=3, max_per=3)
    first = valid(p, schedule(p))
    kept = dict(list(where(first).items())[:5])
    relocked = replace(p, meetings=tuple(replace(x, locked=kept.get(x.id)) for x in p.meetings))
    second = valid(relocked, schedule(relocked))
    assert second.locked_conflicts == []
    for mid, place in kept.items():
        assert where(second)[mid] == place


# ------------------------------------------------------------------------------------ objective


def test_accepted_first_even_at_lower_score() -> None:
    p = problem([m(1, 1, 2, 0.99, accepted=False), m(2, 1, 3, 0.01, accepted=True)], n_slots=1)
    result = valid(p, schedule(p))
    assert list(where(result)) == [2]
    assert result.accepted_placed == 1


def test_more_accepted_beats_one_accepted_with_high_score() -> None:
    # meeting 1 (1-2) blocks both 2 (1-3) and 3 (2-4) in the single slot
    p = problem(
        [m(1, 1, 2, 1.0), m(2, 1, 3, 0.0), m(3, 2, 4, 0.0)],
        n_slots=1,
    )
    result = valid(p, schedule(p))
    assert sorted(where(result)) == [2, 3]
    assert result.accepted_placed == 2


def test_then_highest_total_score() -> None:
    one_big = problem([m(1, 1, 2, 0.9, False), m(2, 1, 3, 0.4, False), m(3, 2, 4, 0.4, False)])
    assert sorted(where(schedule(one_big))) == [1]  # 0.9 > 0.8
    two_small = problem([m(1, 1, 2, 0.9, False), m(2, 1, 3, 0.5, False), m(3, 2, 4, 0.5, False)])
    assert sorted(where(schedule(two_small))) == [2, 3]  # 1.0 > 0.9


def test_then_least_idle_time() -> None:
    # participant 2 can only meet in slot 1; 1's second meeting should follow right after it
    p = problem([m(1, 1, 2), m(2, 1, 3)], n_slots=4, availability={2: frozenset({1})})
    result = valid(p, schedule(p))
    assert where(result)[1][0] == 1
    assert where(result)[2][0] == 2
    assert result.idle_slots == 0


def test_idle_time_is_per_session() -> None:
    # 1 meets in slot 1 (session 1) and slot 3 (session 2): no gap within a session
    p = problem(
        [m(1, 1, 2), m(2, 1, 3)],
        n_slots=4,
        sessions=2,
        availability={2: frozenset({1}), 3: frozenset({3})},
    )
    result = valid(p, schedule(p))
    assert result.idle_slots == 0
    # forced gap: 2 only in slot 1, 3 only in slot 3 of a single session
    p2 = problem([m(1, 1, 2), m(2, 1, 3)], n_slots=3, availability={2: frozenset({1}), 3: frozenset({3})})
    assert schedule(p2).idle_slots == 1


def test_idle_time_reduced_by_moves() -> None:
    # four participants with two meetings each in a 4-slot session: all can be back to back
    meetings = [m(1, 1, 2), m(2, 1, 3), m(3, 4, 2), m(4, 4, 3)]
    p = problem(meetings, n_slots=4)
    result = valid(p, schedule(p))
    assert result.idle_slots == 0


# ---------------------------------------------------------------------------------- determinism


def random_problem(seed: int, n_meetings: int = 60) -> Problem:
    rng = random.Random(seed)
    meetings = []
    for i in range(1, n_meetings + 1):
        a = rng.randint(1, 10)
        b = rng.randint(11, 25)
        meetings.append(m(i, a, b, round(rng.random(), 3), rng.random() < 0.7))
    availability = {
        p: frozenset(s for s in range(1, 9) if rng.random() < 0.8) for p in range(1, 26) if rng.random() < 0.5
    }
    return problem(meetings, n_slots=8, tables=5, max_per=4, availability=availability, sessions=2)


def test_deterministic_and_independent_of_input_order() -> None:
    p = random_problem(11)
    first = valid(p, schedule(p))
    assert schedule(p) == first
    shuffled = list(p.meetings)
    random.Random(5).shuffle(shuffled)
    slots_shuffled = tuple(reversed(p.slots))
    assert schedule(replace(p, meetings=tuple(shuffled), slots=slots_shuffled)) == first


def test_summary_fields_match_placements() -> None:
    p = random_problem(12)
    result = valid(p, schedule(p))
    by_id = {x.id: x for x in p.meetings}
    assert result.accepted_placed == sum(1 for pl in result.placements if by_id[pl.meeting_id].accepted)
    assert result.total_score == pytest.approx(sum(by_id[pl.meeting_id].score for pl in result.placements))
    assert result.unplaced == sorted(result.unplaced)


# ----------------------------------------------------------------------------------- violations


def test_violations_reports_each_broken_rule() -> None:
    p = problem(
        [m(1, 1, 2), m(2, 1, 3), m(3, 4, 5, locked=(1, 2)), m(4, 6, 7), m(5, 6, 8)],
        n_slots=2,
        tables=2,
        max_per=1,
        availability={7: frozenset({2})},
    )
    found = violations(
        p,
        [
            Placement(1, 1, 1),
            Placement(2, 1, 1),  # 1 again in slot 1; same table; 1 over the limit
            Placement(4, 1, 3),  # table 3 does not exist; 7 unavailable in slot 1
            Placement(5, 9, 1),  # unknown slot
            Placement(77, 1, 1),  # unknown meeting
            Placement(1, 2, 1),  # placed twice
        ],
    )
    text = "\n".join(found)
    assert "participant 1 already meets in slot 1" in text
    assert "table 1 in slot 1 already holds meeting 1" in text
    assert "participant 1: 2 meetings, more than 1" in text
    assert "table 3 does not exist" in text
    assert "participant 7 is not available in slot 1" in text
    assert "unknown slot 9" in text
    assert "meeting 77: unknown meeting" in text
    assert "meeting 1: placed more than once" in text
    assert "meeting 3: locked but not placed" in text
    moved = violations(p, [Placement(3, 2, 1)])
    assert any("locked at (1, 2)" in v for v in moved)


def test_violations_empty_for_valid_schedule() -> None:
    p = problem([m(1, 1, 2), m(2, 1, 3)], n_slots=2)
    assert violations(p, [Placement(1, 1, 1), Placement(2, 2, 1)]) == []
