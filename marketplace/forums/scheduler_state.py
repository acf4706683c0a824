"""The scheduler's search state: slots, participants and meetings as dense indices, where each
unlocked meeting is placed, and the elementary moves on it (place, remove, undo to a log mark, can
place) with the idle-time measures. It is bookkeeping only: the search (ejection chains, kicks, idle
reduction) that decides which moves to make lives in scheduler.py and drives this state.
"""

from __future__ import annotations

from collections.abc import Iterable

from marketplace.forums.schedule_problem import Problem, table_count

__all__ = ["SCORE_UNIT", "SearchState"]

SCORE_UNIT = 1_000_000  # scores compare in millionths


class SearchState:
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
        big = (len(meetings) + 1) * SCORE_UNIT
        self.value = [(big if m.accepted else 0) + round(m.score * SCORE_UNIT) for m in meetings]
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
                and table <= table_count(problem, slot_id)
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
            [t for t in range(1, table_count(problem, s.id) + 1) if t not in self.lock_tables[k]]
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
