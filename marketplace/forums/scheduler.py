"""Automatic meeting schedule for trade-connection forums (pure: no Flask, no database).

The organiser's page turns the forum's accepted meeting requests and opted-in recommendations into a
`Problem`; `schedule()` returns where each meeting goes (slot and table) and what could not be placed.
The problem types, their constraints and objective, and the checker `violations()` are in
schedule_problem.py; the search state and its elementary moves are in scheduler_state.py; this
module holds the search itself.

Algorithm (see docs/scheduler.md):
1. locks are applied in meeting-id order; a lock that conflicts with the earlier ones is reported;
2. greedy: meetings by priority (accepted first, fewer possible slots first, higher score first) each
   go to the feasible slot that adds the least idle time;
3. local search with ejection chains: an unplaced meeting may take a slot by evicting the meetings
   in its way (the participants' meetings in that slot, the cheapest meeting when the slot is full,
   the participant's cheapest meeting when they are at their limit); evicted meetings try to move to
   another slot, recursively up to a depth; the chain is kept only when the objective value
   (accepted count, then score) strictly improves. Passes repeat until no chain improves; when an
   evicted meeting stays out, the freed places are refilled (two small meetings may replace a big one);
4. kicks (iterated local search with a seeded random generator): force an unplaced meeting into a
   random slot, or move a placed one, with random evictions; repair with depth-1 chains; keep the
   step unless the score drops by more than a threshold (never when the accepted count drops), and
   return to the best state seen at the end. A wide walk (threshold 0.9) then a narrow one (0.1);
5. idle time: single-meeting moves and pairwise slot swaps that reduce idle time;
6. table numbers: locked meetings keep theirs; the others get the lowest free table numbers of their
   slot in meeting-id order.

Scores compare in millionths. Every step iterates in a fixed order and the random kicks use a fixed
seed; the search stops on a work budget (chain steps), so the same input gives the same output.
`time_limit_s` is a wall-clock guard (80% for the search, the rest for idle time): when it cuts the
search short (a loaded machine, a huge forum) the result is still valid but may depend on speed.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Iterable

from marketplace.forums.schedule_problem import Placement, Problem, Schedule, idle_slots, validate_problem
from marketplace.forums.scheduler_state import SCORE_UNIT, SearchState

__all__ = ["schedule"]

# Chain steps the search may try (about 2.5 s of CPU on the benchmark's large instance). Small
# problems converge long before; the budget, not the clock, keeps runs reproducible.
_WORK_BUDGET = 100_000
_CHAIN_SHARE = 0.6  # of the budget for the ejection-chain passes; the rest for random kicks
_IDLE_ROUNDS = 4
_PATIENCE_BASE = 100
_PATIENCE_PER_MEETING = 10
_KICK_REPAIR_DEPTH = 1


# --------------------------------------------------------------------------------------------------
# Ejection chains: moves of the search, built on the state's elementary moves


def _cheapest(st: SearchState, candidates: Iterable[int], exclude: set[int] | list[int]) -> int:
    """The lowest-value unlocked meeting among `candidates` (ignoring -1 and `exclude`), or -1."""
    rank = st.rank
    best = -1
    best_rank = len(rank)
    for j in candidates:
        if j >= 0 and rank[j] < best_rank and not st.locked[j] and j not in exclude:
            best, best_rank = j, rank[j]
    return best


def _evictions(st: SearchState, i: int, k: int, tabu: set[int], rng: random.Random | None = None) -> list[int] | None:
    """Meetings to remove so that meeting i fits in slot k, or None when impossible: the
    participants' meetings in slot k, then when the slot is full its cheapest meeting, then when
    a participant is at their limit their cheapest meeting (with `rng`: random ones instead)."""
    a, b = st.ma[i], st.mb[i]
    out: list[int] = []
    ja = st.busy[a][k]
    if ja != -1:
        if st.locked[ja] or ja in tabu:
            return None
        out.append(ja)
    jb = st.busy[b][k]
    if jb != -1 and jb != ja:
        if st.locked[jb] or jb in tabu:
            return None
        out.append(jb)
    members = st.members[k]
    if len(members) - len(out) >= st.cap[k]:
        j = _cheapest_in_slot(st, k, tabu, out) if rng is None else _any_of(st, members, tabu, out, rng)
        if j == -1:
            return None
        out.append(j)
    load_a = st.load[a]
    load_b = st.load[b]
    for j in out:
        x, y = st.ma[j], st.mb[j]
        load_a -= x == a or y == a
        load_b -= x == b or y == b
    if load_a >= st.max_load:
        j = _cheapest(st, st.busy[a], tabu.union(out)) if rng is None else _any_of(st, st.busy[a], tabu, out, rng)
        if j == -1:
            return None
        out.append(j)
        load_b -= st.ma[j] == b or st.mb[j] == b
    if load_b >= st.max_load:
        j = _cheapest(st, st.busy[b], tabu.union(out)) if rng is None else _any_of(st, st.busy[b], tabu, out, rng)
        if j == -1:
            return None
        out.append(j)
    return out


def _any_of(st: SearchState, candidates: Iterable[int], tabu: set[int], out: list[int], rng: random.Random) -> int:
    pool = sorted(j for j in candidates if j >= 0 and not st.locked[j] and j not in tabu and j not in out)
    return rng.choice(pool) if pool else -1


def _refill(st: SearchState, evicted: list[int], tabu: set[int]) -> None:
    """Place, where they now fit directly, unplaced meetings of the participants of the evicted
    meetings that stayed out (several small meetings may replace one bigger one)."""
    for j in evicted:
        if st.pos[j] != -1:
            continue
        for person in (st.ma[j], st.mb[j]):
            for u in st.by_person[person]:
                if st.pos[u] == -1 and u != j and not st.locked[u] and u not in tabu:
                    _insert(st, u, 0, tabu)


def _cheapest_in_slot(st: SearchState, k: int, tabu: set[int], out: list[int]) -> int:
    members = st.members[k]
    if not members:
        return -1
    j = min(members, key=st.rank.__getitem__)
    if j not in tabu and j not in out:
        return j
    return _cheapest(st, members, tabu.union(out))


def _insert(st: SearchState, i: int, depth: int, tabu: set[int]) -> bool:
    """Try to place unplaced meeting i so that the state's value strictly rises (compared with
    the state on entry, where i is unplaced). Evicted meetings get `depth - 1` to move elsewhere.
    Keeps the first improving option; otherwise leaves the state unchanged and returns False."""
    st.work += 1
    cand = st.cand[i]
    best_k = -1
    best_idle = 0
    for k in cand:
        if st.can_place(i, k):
            if not tabu:  # top level: the slot adding the least idle time
                d = st.idle_delta_place(i, k)
                if best_k == -1 or d < best_idle:
                    best_k, best_idle = k, d
            else:  # inside a chain: the first slot that fits (idle time is fixed later)
                best_k = k
                break
    if best_k != -1:
        st.place(i, best_k)
        return True
    if depth == 0:
        return False
    start = st.total
    tabu.add(i)
    try:
        for k in cand:
            out = _evictions(st, i, k, tabu)
            if out is None:
                continue
            st.work += 1
            mark = len(st.log)
            for j in out:
                st.remove(j)
            st.place(i, k)
            for j in sorted(out, key=lambda j: (-st.value[j], j)):
                _insert(st, j, depth - 1, tabu)
            if st.total <= start and len(tabu) == 1:
                _refill(st, out, tabu)
            if st.total > start:
                return True
            st.undo(mark)
        return False
    finally:
        tabu.discard(i)


# --------------------------------------------------------------------------------------------------
# The search: local search, kicks, idle time, then the result


def _local_search(st: SearchState, deadline: float) -> None:
    """Ejection-chain passes at depth 1, then 2, then 3, each until a pass improves nothing, within
    the work budget (deterministic) and the deadline (a guard)."""
    n = len(st.meetings)
    order = sorted(range(n), key=lambda i: (-st.value[i], len(st.cand[i]), st.meetings[i].id))
    for depth in (1, 2, 3):
        improved = True
        while improved:
            improved = False
            for i in order:
                if st.pos[i] != -1 or st.locked[i] or not st.cand[i]:
                    continue
                if st.work > _WORK_BUDGET * _CHAIN_SHARE or time.perf_counter() > deadline:
                    return
                if _insert(st, i, depth, set()):
                    improved = True
                st.log.clear()


def _kicks(st: SearchState, deadline: float, threshold: int, budget: float, seed: int) -> None:
    """Iterated local search: force an unplaced meeting (an accepted one when there are any) into a
    random slot, evicting what is in its way (random choices), let the evicted meetings move
    elsewhere with depth-1 chains and refill freed places; keep the result unless the objective
    value drops (sideways moves let the search cross plateaus). A fixed seed keeps it reproducible."""
    rng = random.Random(seed)
    n = len(st.meetings)
    best_total = st.total
    best = list(st.pos)
    since_best = 0
    patience = _PATIENCE_BASE + _PATIENCE_PER_MEETING * n  # kicks without a new best before giving up
    while st.work <= budget and since_best <= patience and time.perf_counter() <= deadline:
        st.work += 1
        since_best += 1
        unplaced = [i for i in range(n) if st.pos[i] == -1 and not st.locked[i] and st.cand[i]]
        if not unplaced:
            break  # everything placed: nothing better exists
        start = st.total
        mark = len(st.log)
        if rng.random() < 0.5:
            # move a placed meeting to another slot (a sideways step when everything fits again)
            placed = [i for i in range(n) if st.pos[i] != -1 and not st.locked[i] and len(st.cand[i]) > 1]
            if not placed:
                continue
            i = rng.choice(placed)
            k = rng.choice([k for k in st.cand[i] if k != st.pos[i]])
            st.remove(i)
        else:
            accepted = [i for i in unplaced if st.meetings[i].accepted]
            i = rng.choice(accepted if accepted and rng.random() < 0.8 else unplaced)
            k = rng.choice(st.cand[i])
        tabu = {i}
        out = _evictions(st, i, k, tabu, rng)
        if out is None:
            st.undo(mark)
            continue
        for j in out:
            st.remove(j)
        st.place(i, k)
        for j in sorted(out, key=lambda j: (-st.value[j], j)):
            _insert(st, j, _KICK_REPAIR_DEPTH, tabu)
        _refill(st, out, tabu)
        if st.total > best_total:
            best_total = st.total
            best = list(st.pos)
            since_best = 0
        if st.total >= start - threshold:
            st.log.clear()
        else:
            st.undo(mark)
    st.log.clear()
    if st.total < best_total:  # back to the best state seen
        for i in range(n):
            if not st.locked[i] and st.pos[i] != -1:
                st.remove(i)
        for i in range(n):
            if not st.locked[i] and best[i] != -1:
                st.place(i, best[i])
        st.log.clear()


def _reduce_idle(st: SearchState, deadline: float) -> None:
    """Moves and swaps of unlocked meetings between slots that keep the set of placed meetings and
    lower the idle time. Each accepted step lowers idle time, so this terminates."""
    n = len(st.meetings)
    improved = True
    rounds = 0
    while improved and rounds < _IDLE_ROUNDS:
        improved = False
        rounds += 1
        for i in range(n):
            if st.locked[i] or st.pos[i] == -1:
                continue
            if time.perf_counter() > deadline:
                return
            k0 = st.pos[i]
            for k in st.cand[i]:
                if k == k0:
                    continue
                sessions = {st.session_of[k0], st.session_of[k]}
                before = st.idle_pair(i, sessions)
                st.remove(i)
                if st.can_place(i, k):
                    st.place(i, k)
                    if st.idle_pair(i, sessions) < before:
                        improved = True
                        k0 = k
                        continue
                    st.remove(i)
                st.place(i, k0)
        st.log.clear()
        # swaps: meeting i (slot k1) and meeting j (slot k2) exchange slots
        for i in range(n):
            if st.locked[i] or st.pos[i] == -1:
                continue
            if time.perf_counter() > deadline:
                return
            for k2 in st.cand[i]:
                k1 = st.pos[i]
                if k2 == k1:
                    continue
                # only a swap with a meeting of one of i's participants can help them directly
                for person in (st.ma[i], st.mb[i]):
                    j = st.busy[person][k2]
                    if j == -1 or j == i or st.locked[j] or st.pos[j] != k2 or k1 not in st.cand[j]:
                        continue
                    people = {st.ma[i], st.mb[i], st.ma[j], st.mb[j]}
                    sessions = {st.session_of[k1], st.session_of[k2]}
                    before = sum(st.idle_of(p, s) for p in people for s in sessions)
                    mark = len(st.log)
                    st.remove(i)
                    st.remove(j)
                    if st.can_place(i, k2):
                        st.place(i, k2)
                        if st.can_place(j, k1):
                            st.place(j, k1)
                            if sum(st.idle_of(p, s) for p in people for s in sessions) < before:
                                improved = True
                                st.log.clear()
                                break
                    st.undo(mark)
        st.log.clear()


def schedule(problem: Problem) -> Schedule:
    """Place the problem's meetings into slots and tables (see the module docstring)."""
    validate_problem(problem)
    started = time.perf_counter()
    deadline = started + max(0.0, problem.time_limit_s)
    st = SearchState(problem)
    n = len(st.meetings)

    # greedy
    order = sorted(
        (i for i in range(n) if not st.locked[i]),
        key=lambda i: (not st.meetings[i].accepted, len(st.cand[i]), -st.meetings[i].score, st.meetings[i].id),
    )
    for i in order:
        _insert(st, i, 0, set())
    st.log.clear()

    _local_search(st, started + 0.8 * (deadline - started))
    # a kick may lower the score by up to `threshold` (never the accepted count): a wide random walk
    # first, then a narrow one from the best state found
    _kicks(st, started + 0.8 * (deadline - started), SCORE_UNIT * 9 // 10, _WORK_BUDGET * 0.85, 1)
    _kicks(st, started + 0.8 * (deadline - started), SCORE_UNIT // 10, _WORK_BUDGET, 2)
    _reduce_idle(st, deadline)

    # tables: locks keep theirs; others get the lowest free numbers in meeting-id order
    placements: list[Placement] = []
    for m in st.meetings:
        if m.locked is not None:
            placements.append(Placement(m.id, m.locked[0], m.locked[1]))
    for k, slot in enumerate(st.slots):
        for t, i in zip(st.free_tables[k], sorted(st.members[k]), strict=False):
            placements.append(Placement(st.meetings[i].id, slot.id, t))
    order_of = {s.id: s.order for s in problem.slots}
    placements.sort(key=lambda p: (order_of[p.slot_id], p.slot_id, p.table, p.meeting_id))

    placed_ids = {p.meeting_id for p in placements}
    by_id = {m.id: m for m in st.meetings}
    busy: dict[int, set[int]] = {}
    for p in placements:
        m = by_id[p.meeting_id]
        busy.setdefault(m.a, set()).add(p.slot_id)
        busy.setdefault(m.b, set()).add(p.slot_id)
    placed_sorted = sorted(placed_ids)
    return Schedule(
        placements=placements,
        unplaced=sorted(m.id for m in st.meetings if m.id not in placed_ids),
        locked_conflicts=sorted(st.conflicts),
        accepted_placed=sum(1 for mid in placed_sorted if by_id[mid].accepted),
        total_score=math.fsum(by_id[mid].score for mid in placed_sorted),
        idle_slots=idle_slots(problem, busy),
    )
