"""Automatic meeting schedule for trade-connection forums (pure: no Flask, no database).

The organiser's page turns the forum's accepted meeting requests and opted-in recommendations into a
`Problem`; `schedule()` returns where each meeting goes (slot and table) and what could not be placed.

Constraints (hard): a participant is in at most one meeting per slot and only in slots they are
available in; a slot holds at most its table count; a participant has at most `max_per_participant`
meetings; locked meetings stay exactly where they are and count toward all of the above. A lock that
itself breaks a constraint is kept and reported in `Schedule.locked_conflicts`.

Objective (lexicographic): most accepted meetings placed, then highest total match score of all
placed meetings, then least idle time (gaps between a participant's first and last meeting within a
session).

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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = ["Meeting", "Placement", "Problem", "Schedule", "Slot", "schedule", "violations"]

_SCORE_UNIT = 1_000_000  # scores compare in millionths
# Chain steps the search may try (about 2.5 s of CPU on the benchmark's large instance). Small
# problems converge long before; the budget, not the clock, keeps runs reproducible.
_WORK_BUDGET = 100_000
_CHAIN_SHARE = 0.6  # of the budget for the ejection-chain passes; the rest for random kicks
_IDLE_ROUNDS = 4
_PATIENCE_BASE = 100
_PATIENCE_PER_MEETING = 10
_KICK_REPAIR_DEPTH = 1


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
# Validation and helpers shared by schedule() and violations()


def _table_count(problem: Problem, slot_id: int) -> int:
    if problem.slot_tables is not None and slot_id in problem.slot_tables:
        return problem.slot_tables[slot_id]
    return problem.tables


def _validate(problem: Problem) -> None:
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


def _idle_slots(problem: Problem, busy: Mapping[int, set[int]]) -> int:
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
        if not 1 <= p.table <= _table_count(problem, p.slot_id):
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


class _State:
    """Slots, participants and meetings as dense indices; the placement of the unlocked meetings."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        slots = sorted(problem.slots, key=lambda s: (s.order, s.id))
        self.slots = slots
        self.n_slots = n_slots = len(slots)
        slot_index = {s.id: k for k, s in enumerate(slots)}
        self.slot_index = slot_index
        self.max_load = problem.max_per_participant

        # sessions: for each slot, its session's slot indices (in time order) for idle time
        sessions: dict[int, list[int]] = {}
        for k, s in enumerate(slots):
            sessions.setdefault(s.session_id, []).append(k)
        self.session_of = [0] * n_slots
        self.session_slots: list[list[int]] = []
        for j, ks in enumerate(sessions.values()):
            self.session_slots.append(ks)
            for k in ks:
                self.session_of[k] = j

        meetings = sorted(problem.meetings, key=lambda m: m.id)
        self.meetings = meetings
        people = sorted({m.a for m in meetings} | {m.b for m in meetings})
        person_index = {p: i for i, p in enumerate(people)}
        self.n_people = len(people)
        self.avail: list[list[bool]] = []
        for p in people:
            allowed = problem.availability.get(p)
            self.avail.append([allowed is None or s.id in allowed for s in slots])
        self.ma = [person_index[m.a] for m in meetings]
        self.mb = [person_index[m.b] for m in meetings]
        # integer values, so that comparisons are exact: score in millionths, and an accepted
        # meeting outweighs any sum of scores
        big = (len(meetings) + 1) * _SCORE_UNIT
        self.value = [(big if m.accepted else 0) + round(m.score * _SCORE_UNIT) for m in meetings]
        self.rank = [0] * len(meetings)  # position in (value, id) order: cheapest first
        for r, i in enumerate(sorted(range(len(meetings)), key=lambda i: (self.value[i], meetings[i].id))):
            self.rank[i] = r

        self.busy = [[-1] * n_slots for _ in range(self.n_people)]  # person, slot -> meeting index
        self.load = [0] * self.n_people
        self.pos = [-1] * len(meetings)  # meeting index -> slot index (-1: unplaced)
        self.locked = [m.locked is not None for m in meetings]
        self.members: list[set[int]] = [set() for _ in range(n_slots)]  # unlocked meetings per slot
        self.total = 0  # value of placed unlocked meetings

        # locks, in meeting-id order; a lock conflicting with earlier ones is reported
        self.conflicts: list[int] = []
        self.lock_tables: list[set[int]] = [set() for _ in range(n_slots)]
        for i, m in enumerate(meetings):
            if m.locked is None:
                continue
            slot_id, table = m.locked
            k = slot_index[slot_id]
            a, b = self.ma[i], self.mb[i]
            ok = (
                self.avail[a][k]
                and self.avail[b][k]
                and self.busy[a][k] == -1
                and self.busy[b][k] == -1
                and self.load[a] < self.max_load
                and self.load[b] < self.max_load
                and table <= _table_count(problem, slot_id)
                and table not in self.lock_tables[k]
            )
            if not ok:
                self.conflicts.append(m.id)
            for person in (a, b):
                if self.busy[person][k] == -1:
                    self.busy[person][k] = i
                self.load[person] += 1
            self.pos[i] = k
            self.lock_tables[k].add(table)
        self.free_tables = [
            [t for t in range(1, _table_count(problem, s.id) + 1) if t not in self.lock_tables[k]]
            for k, s in enumerate(slots)
        ]
        self.cap = [len(ts) for ts in self.free_tables]
        # candidate slots of each unlocked meeting: both participants available
        self.cand: list[list[int]] = []
        for i in range(len(meetings)):
            a, b = self.ma[i], self.mb[i]
            if self.locked[i]:
                self.cand.append([])
            else:
                self.cand.append(
                    [k for k in range(n_slots) if self.avail[a][k] and self.avail[b][k] and self.cap[k] > 0]
                )
        self.log: list[tuple[int, int, int]] = []  # (op, meeting, slot): op 1 placed, 0 removed
        # each participant's unlocked meetings, most valuable first
        self.by_person: list[list[int]] = [[] for _ in range(self.n_people)]
        for i in sorted(range(len(meetings)), key=lambda i: -self.rank[i]):
            if not self.locked[i]:
                self.by_person[self.ma[i]].append(i)
                self.by_person[self.mb[i]].append(i)
        self.work = 0  # chain steps tried, for the deterministic work budget

    # ----- elementary moves, logged for undo
    def place(self, i: int, k: int) -> None:
        a, b = self.ma[i], self.mb[i]
        self.busy[a][k] = i
        self.busy[b][k] = i
        self.load[a] += 1
        self.load[b] += 1
        self.pos[i] = k
        self.members[k].add(i)
        self.total += self.value[i]
        self.log.append((1, i, k))

    def remove(self, i: int) -> None:
        k = self.pos[i]
        a, b = self.ma[i], self.mb[i]
        self.busy[a][k] = -1
        self.busy[b][k] = -1
        self.load[a] -= 1
        self.load[b] -= 1
        self.pos[i] = -1
        self.members[k].discard(i)
        self.total -= self.value[i]
        self.log.append((0, i, k))

    def undo(self, mark: int) -> None:
        log = self.log
        while len(log) > mark:
            op, i, k = log.pop()
            if op == 1:
                self.remove(i)
            else:
                self.place(i, k)
            log.pop()

    def can_place(self, i: int, k: int) -> bool:
        a, b = self.ma[i], self.mb[i]
        return (
            self.busy[a][k] == -1
            and self.busy[b][k] == -1
            and len(self.members[k]) < self.cap[k]
            and self.load[a] < self.max_load
            and self.load[b] < self.max_load
        )

    # ----- idle time
    def idle_of(self, person: int, session: int) -> int:
        row = self.busy[person]
        first = last = -1
        count = 0
        for j, k in enumerate(self.session_slots[session]):
            if row[k] != -1:
                if first == -1:
                    first = j
                last = j
                count += 1
        return 0 if first == -1 else last - first + 1 - count

    def idle_delta_place(self, i: int, k: int) -> int:
        """Idle time added by placing meeting i in slot k (i currently unplaced, slot free for both)."""
        sess = self.session_of[k]
        delta = 0
        for person in (self.ma[i], self.mb[i]):
            before = self.idle_of(person, sess)
            self.busy[person][k] = i
            delta += self.idle_of(person, sess) - before
            self.busy[person][k] = -1
        return delta

    def idle_pair(self, i: int, sessions: Iterable[int]) -> int:
        return sum(self.idle_of(p, s) for p in (self.ma[i], self.mb[i]) for s in set(sessions))

    # ----- ejection chains
    def cheapest(self, candidates: Iterable[int], exclude: set[int] | list[int]) -> int:
        """The lowest-value unlocked meeting among `candidates` (ignoring -1 and `exclude`), or -1."""
        rank = self.rank
        best = -1
        best_rank = len(rank)
        for j in candidates:
            if j >= 0 and rank[j] < best_rank and not self.locked[j] and j not in exclude:
                best, best_rank = j, rank[j]
        return best

    def evictions(self, i: int, k: int, tabu: set[int], rng: random.Random | None = None) -> list[int] | None:
        """Meetings to remove so that meeting i fits in slot k, or None when impossible: the
        participants' meetings in slot k, then when the slot is full its cheapest meeting, then when
        a participant is at their limit their cheapest meeting (with `rng`: random ones instead)."""
        a, b = self.ma[i], self.mb[i]
        out: list[int] = []
        ja = self.busy[a][k]
        if ja != -1:
            if self.locked[ja] or ja in tabu:
                return None
            out.append(ja)
        jb = self.busy[b][k]
        if jb != -1 and jb != ja:
            if self.locked[jb] or jb in tabu:
                return None
            out.append(jb)
        members = self.members[k]
        if len(members) - len(out) >= self.cap[k]:
            j = self.cheapest_in_slot(k, tabu, out) if rng is None else self.any_of(members, tabu, out, rng)
            if j == -1:
                return None
            out.append(j)
        load_a = self.load[a]
        load_b = self.load[b]
        for j in out:
            x, y = self.ma[j], self.mb[j]
            load_a -= x == a or y == a
            load_b -= x == b or y == b
        if load_a >= self.max_load:
            j = (
                self.cheapest(self.busy[a], tabu.union(out))
                if rng is None
                else self.any_of(self.busy[a], tabu, out, rng)
            )
            if j == -1:
                return None
            out.append(j)
            load_b -= self.ma[j] == b or self.mb[j] == b
        if load_b >= self.max_load:
            j = (
                self.cheapest(self.busy[b], tabu.union(out))
                if rng is None
                else self.any_of(self.busy[b], tabu, out, rng)
            )
            if j == -1:
                return None
            out.append(j)
        return out

    def any_of(self, candidates: Iterable[int], tabu: set[int], out: list[int], rng: random.Random) -> int:
        pool = sorted(j for j in candidates if j >= 0 and not self.locked[j] and j not in tabu and j not in out)
        return rng.choice(pool) if pool else -1

    def refill(self, evicted: list[int], tabu: set[int]) -> None:
        """Place, where they now fit directly, unplaced meetings of the participants of the evicted
        meetings that stayed out (several small meetings may replace one bigger one)."""
        for j in evicted:
            if self.pos[j] != -1:
                continue
            for person in (self.ma[j], self.mb[j]):
                for u in self.by_person[person]:
                    if self.pos[u] == -1 and u != j and not self.locked[u] and u not in tabu:
                        self.insert(u, 0, tabu)

    def cheapest_in_slot(self, k: int, tabu: set[int], out: list[int]) -> int:
        members = self.members[k]
        if not members:
            return -1
        j = min(members, key=self.rank.__getitem__)
        if j not in tabu and j not in out:
            return j
        return self.cheapest(members, tabu.union(out))

    def insert(self, i: int, depth: int, tabu: set[int]) -> bool:
        """Try to place unplaced meeting i so that the state's value strictly rises (compared with
        the state on entry, where i is unplaced). Evicted meetings get `depth - 1` to move elsewhere.
        Keeps the first improving option; otherwise leaves the state unchanged and returns False."""
        self.work += 1
        cand = self.cand[i]
        best_k = -1
        best_idle = 0
        for k in cand:
            if self.can_place(i, k):
                if not tabu:  # top level: the slot adding the least idle time
                    d = self.idle_delta_place(i, k)
                    if best_k == -1 or d < best_idle:
                        best_k, best_idle = k, d
                else:  # inside a chain: the first slot that fits (idle time is fixed later)
                    best_k = k
                    break
        if best_k != -1:
            self.place(i, best_k)
            return True
        if depth == 0:
            return False
        start = self.total
        tabu.add(i)
        try:
            for k in cand:
                out = self.evictions(i, k, tabu)
                if out is None:
                    continue
                self.work += 1
                mark = len(self.log)
                for j in out:
                    self.remove(j)
                self.place(i, k)
                for j in sorted(out, key=lambda j: (-self.value[j], j)):
                    self.insert(j, depth - 1, tabu)
                if self.total <= start and len(tabu) == 1:
                    self.refill(out, tabu)
                if self.total > start:
                    return True
                self.undo(mark)
            return False
        finally:
            tabu.discard(i)


def _local_search(st: _State, deadline: float) -> None:
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
                if st.insert(i, depth, set()):
                    improved = True
                st.log.clear()


def _kicks(st: _State, deadline: float, threshold: int, budget: float, seed: int) -> None:
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
        out = st.evictions(i, k, tabu, rng)
        if out is None:
            st.undo(mark)
            continue
        for j in out:
            st.remove(j)
        st.place(i, k)
        for j in sorted(out, key=lambda j: (-st.value[j], j)):
            st.insert(j, _KICK_REPAIR_DEPTH, tabu)
        st.refill(out, tabu)
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


def _reduce_idle(st: _State, deadline: float) -> None:
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
    _validate(problem)
    started = time.perf_counter()
    deadline = started + max(0.0, problem.time_limit_s)
    st = _State(problem)
    n = len(st.meetings)

    # greedy
    order = sorted(
        (i for i in range(n) if not st.locked[i]),
        key=lambda i: (not st.meetings[i].accepted, len(st.cand[i]), -st.meetings[i].score, st.meetings[i].id),
    )
    for i in order:
        st.insert(i, 0, set())
    st.log.clear()

    _local_search(st, started + 0.8 * (deadline - started))
    # a kick may lower the score by up to `threshold` (never the accepted count): a wide random walk
    # first, then a narrow one from the best state found
    _kicks(st, started + 0.8 * (deadline - started), _SCORE_UNIT * 9 // 10, _WORK_BUDGET * 0.85, 1)
    _kicks(st, started + 0.8 * (deadline - started), _SCORE_UNIT // 10, _WORK_BUDGET, 2)
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
        idle_slots=_idle_slots(problem, busy),
    )
