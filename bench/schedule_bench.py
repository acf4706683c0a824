"""Benchmark the forum meeting scheduler (marketplace/forums/scheduler.py) against LP/MILP bounds.

    .venv/bin/python bench/schedule_bench.py                 # large instance + 50 small ones
    .venv/bin/python bench/schedule_bench.py --small 0       # large instance only
    .venv/bin/python bench/schedule_bench.py --milp-time 60  # more time for the bounds

Instance generator (`make_instance(seed, buyers, producers, requests, sessions, slots_per_session,
tables, max_per_participant)`), all randomness from `random.Random(seed)`:
- participants: buyers get ids 1..B, producers B+1..B+P;
- slots: `sessions` sessions of `slots_per_session` consecutive slots; slot ids 1..S, order 0..S-1;
- availability, per participant and per session: with probability 0.15 absent for the whole
  session; otherwise unavailable for one block of 0-3 consecutive slots (length uniform in 0..3,
  start uniform in the session);
- meeting requests: distinct random buyer-producer pairs (buyer and producer uniform); each is an
  accepted request with probability 0.7, otherwise an opted-in recommendation; every meeting has a
  match score uniform in [0, 1] rounded to 3 decimals; no locks.
Large instance: seed 7, 120 buyers, 180 producers, 2,000 requests, 2 sessions x 8 slots, 60 tables,
at most 10 meetings per participant. Small instances: seeds 1..N, 8 buyers, 12 producers,
40 requests, 2 sessions x 3 slots, 4 tables, at most 3 meetings per participant.

Bounds (HiGHS through SciPy; variables x[m, s] for every slot s both participants of meeting m are
available in; constraints: each meeting at most once, each participant at most one meeting per slot,
at most `tables` meetings per slot, at most `max_per_participant` per participant). Each bound is the
LP relaxation (linprog, interior point + crossover) or, when lower, the optimum or dual bound of the
same model as a MILP (scipy.optimize.milp) stopped after --milp-time seconds:
- accepted: max number of accepted meetings placed (LP, MILP);
- score: max total score subject to "accepted placed >= the scheduler's accepted count" (LP only:
  the dense extra row makes HiGHS' MILP root slow). It is a valid bound for the lexicographic
  optimum, which places at least as many accepted meetings as the scheduler;
- placed: max number of meetings placed, ignoring priorities (LP, MILP; for information).
On the small instances the MILPs solve to optimality (mip_rel_gap 0): the exact lexicographic
optimum is the max accepted count, then the max score with at least that many accepted.

The scheduler's time is the median of --repeat runs (default 3) of `schedule()` on the large instance
(wall clock, and CPU time since other jobs share the machine); its time_limit_s is --time-limit (3 s).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse import coo_array, vstack

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from marketplace.forums.schedule_problem import Meeting, Problem, Schedule, Slot, violations  # noqa: E402
from marketplace.forums.scheduler import schedule  # noqa: E402


def make_instance(
    seed: int,
    buyers: int = 120,
    producers: int = 180,
    requests: int = 2000,
    sessions: int = 2,
    slots_per_session: int = 8,
    tables: int = 60,
    max_per_participant: int = 10,
    time_limit_s: float = 3.0,
) -> Problem:
    rng = random.Random(seed)
    slots = tuple(
        Slot(id=j * slots_per_session + i + 1, order=j * slots_per_session + i, session_id=j + 1)
        for j in range(sessions)
        for i in range(slots_per_session)
    )
    people = list(range(1, buyers + producers + 1))
    availability: dict[int, frozenset[int]] = {}
    for person in people:
        free: set[int] = set()
        for j in range(sessions):
            session = [s.id for s in slots if s.session_id == j + 1]
            if rng.random() < 0.15:
                continue
            length = rng.randint(0, 3)
            start = rng.randrange(len(session))
            blocked = set(session[start : start + length])
            free.update(sid for sid in session if sid not in blocked)
        if len(free) < len(slots):
            availability[person] = frozenset(free)
    pairs: set[tuple[int, int]] = set()
    if requests > buyers * producers:
        raise ValueError("more requests than buyer-producer pairs")
    meetings: list[Meeting] = []
    while len(meetings) < requests:
        a = rng.randint(1, buyers)
        b = rng.randint(buyers + 1, buyers + producers)
        if (a, b) in pairs:
            continue
        pairs.add((a, b))
        accepted = rng.random() < 0.7
        meetings.append(Meeting(len(meetings) + 1, a, b, round(rng.random(), 3), accepted))
    return Problem(
        slots=slots,
        tables=tables,
        availability=availability,
        max_per_participant=max_per_participant,
        meetings=tuple(meetings),
        time_limit_s=time_limit_s,
    )


@dataclass
class Bound:
    value: float  # best upper bound (equals the optimum when optimal)
    optimal: bool
    seconds: float
    kind: str  # "MILP optimum", "MILP dual bound" or "LP relaxation"


class Milp:
    """x[m, s] formulation of a Problem without locks."""

    def __init__(self, problem: Problem) -> None:
        if any(m.locked for m in problem.meetings):
            raise ValueError("bench MILP does not model locks")
        self.problem = problem
        slot_ids = [s.id for s in problem.slots]
        self.vars: list[tuple[int, int]] = []  # (meeting index, slot index)
        for i, m in enumerate(problem.meetings):
            for k, sid in enumerate(slot_ids):
                if all(p not in problem.availability or sid in problem.availability[p] for p in (m.a, m.b)):
                    self.vars.append((i, k))
        n = len(self.vars)
        rows: list[int] = []
        cols: list[int] = []
        ub: list[float] = []
        row = 0
        by_meeting: dict[int, list[int]] = {}
        by_slot: dict[int, list[int]] = {}
        by_person_slot: dict[tuple[int, int], list[int]] = {}
        by_person: dict[int, list[int]] = {}
        for v, (i, k) in enumerate(self.vars):
            m = problem.meetings[i]
            by_meeting.setdefault(i, []).append(v)
            by_slot.setdefault(k, []).append(v)
            for p in (m.a, m.b):
                by_person_slot.setdefault((p, k), []).append(v)
                by_person.setdefault(p, []).append(v)
        for group, limit in (
            [(vs, 1.0) for vs in by_meeting.values()]
            + [(vs, float(problem.tables)) for vs in by_slot.values()]
            + [(vs, 1.0) for vs in by_person_slot.values() if len(vs) > 1]
            + [(vs, float(problem.max_per_participant)) for vs in by_person.values()]
        ):
            rows.extend([row] * len(group))
            cols.extend(group)
            ub.append(limit)
            row += 1
        self.a_matrix = coo_array((np.ones(len(rows)), (rows, cols)), shape=(row, n)).tocsr()
        self.ub = np.array(ub)
        self.accepted = np.array([1.0 if problem.meetings[i].accepted else 0.0 for i, _ in self.vars])
        self.score = np.array([problem.meetings[i].score for i, _ in self.vars])
        self.ones = np.ones(n)

    def maximise(
        self, c: np.ndarray, time_limit: float, min_accepted: float | None = None, use_milp: bool = True
    ) -> Bound:
        """Best upper bound on max c.x: the LP relaxation (interior point, then crossover), and when
        `use_milp` the time-limited MILP's optimum or dual bound if that is lower."""
        started = time.perf_counter()
        lp_value = self.lp_bound(c, time_limit, min_accepted)
        best = self._milp_bound(c, time_limit, min_accepted) if use_milp and time_limit > 0 else None
        seconds = time.perf_counter() - started
        if best is None or best[0] > lp_value:
            return Bound(lp_value, False, seconds, "LP relaxation")
        return Bound(best[0], best[1], seconds, "MILP optimum" if best[1] else "MILP dual bound")

    def lp_bound(self, c: np.ndarray, time_limit: float, min_accepted: float | None = None) -> float:
        a_ub = self.a_matrix
        b_ub = self.ub
        if min_accepted is not None:
            a_ub = vstack([a_ub, -self.accepted.reshape(1, -1)]).tocsr()
            b_ub = np.concatenate([b_ub, [-float(min_accepted)]])
        res = linprog(
            -c, A_ub=a_ub, b_ub=b_ub, bounds=(0, 1), method="highs-ipm", options={"time_limit": max(time_limit, 60)}
        )
        if res.status != 0:
            raise RuntimeError(f"LP relaxation failed: {res.message}")
        return -float(res.fun) + 1e-6  # solver tolerance

    def _milp_bound(self, c: np.ndarray, time_limit: float, min_accepted: float | None) -> tuple[float, bool] | None:
        constraints = [LinearConstraint(self.a_matrix, -np.inf, self.ub)]
        if min_accepted is not None:
            constraints.append(LinearConstraint(self.accepted.reshape(1, -1), min_accepted, np.inf))
        res = milp(
            -c,
            constraints=constraints,
            integrality=np.ones(len(c)),
            bounds=Bounds(0, 1),
            options={"time_limit": time_limit, "disp": False, "mip_rel_gap": 0.0},
        )
        dual = getattr(res, "mip_dual_bound", None)
        if res.status == 0:  # optimal (mip_rel_gap 0)
            return -float(res.fun), True
        if dual is None or not np.isfinite(dual):
            return None
        return -float(dual), False


def timed_schedule(problem: Problem, repeat: int) -> tuple[Schedule, float, list[float], float]:
    """The result, the median wall time, every wall time and the median CPU time."""
    times: list[float] = []
    cpu: list[float] = []
    result: Schedule | None = None
    for _ in range(repeat):
        started, cpu_started = time.perf_counter(), time.process_time()
        result = schedule(problem)
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
    assert result is not None
    return result, statistics.median(times), times, statistics.median(cpu)


def check(problem: Problem, result: Schedule) -> None:
    problems = violations(problem, result.placements)
    if problems:
        raise SystemExit("INVALID schedule: " + "; ".join(problems[:5]))


def large(args: argparse.Namespace) -> None:
    problem = make_instance(args.seed, time_limit_s=args.time_limit)
    result, median, times, cpu = timed_schedule(problem, args.repeat)
    check(problem, result)
    placed = len(result.placements)
    accepted_total = sum(1 for m in problem.meetings if m.accepted)
    model = Milp(problem)
    b_acc = model.maximise(model.accepted, args.milp_time)
    # the score LP with its dense "accepted >= k" row is slow for HiGHS' MILP root: LP bound only
    b_score = model.maximise(model.score, args.milp_time, min_accepted=result.accepted_placed, use_milp=False)
    b_placed = model.maximise(model.ones, args.milp_time)

    def tag(b: Bound) -> str:
        return b.kind

    print(
        f"## Large instance (seed {args.seed}): {len(problem.meetings)} requests ({accepted_total} accepted), "
        f"300 participants, {len(problem.slots)} slots, {problem.tables} tables, "
        f"max {problem.max_per_participant} per participant\n"
    )
    print("| metric | scheduler | upper bound (HiGHS) | ratio |")
    print("|---|---:|---:|---:|")
    print(
        f"| accepted meetings placed | {result.accepted_placed} | {b_acc.value:.2f} ({tag(b_acc)}, {b_acc.seconds:.1f} s) "
        f"| {result.accepted_placed / b_acc.value:.2%} |"
    )
    print(
        f"| total score (all placed) | {result.total_score:.3f} | {b_score.value:.3f} ({tag(b_score)}, {b_score.seconds:.1f} s) "
        f"| {result.total_score / b_score.value:.2%} |"
    )
    print(
        f"| meetings placed (all) | {placed} | {b_placed.value:.2f} ({tag(b_placed)}, {b_placed.seconds:.1f} s) "
        f"| {placed / b_placed.value:.2%} |"
    )
    print(f"| idle slots | {result.idle_slots} | | |")
    print(
        f"| scheduler time (median of {args.repeat}) | {median:.2f} s | | runs: {', '.join(f'{t:.2f}' for t in times)} |"
    )
    print(f"| scheduler CPU time (median) | {cpu:.2f} s | | |")
    print()
    # the same without the clock guard: only the work budget stops the search (reproducible)
    unguarded = replace(problem, time_limit_s=600.0)
    full, full_wall, _, full_cpu = timed_schedule(unguarded, 1)
    check(problem, full)
    print("Without the clock guard (time_limit_s=600: the deterministic work budget alone stops the search):\n")
    print("| accepted placed | ratio | total score | ratio | placed | idle slots | wall | CPU |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    b_full = model.maximise(model.score, args.milp_time, min_accepted=full.accepted_placed, use_milp=False)
    print(
        f"| {full.accepted_placed} | {full.accepted_placed / b_acc.value:.2%} | {full.total_score:.3f} "
        f"| {full.total_score / b_full.value:.2%} (bound {b_full.value:.3f}) | {len(full.placements)} "
        f"| {full.idle_slots} | {full_wall:.2f} s | {full_cpu:.2f} s |"
    )
    print()


def small(args: argparse.Namespace) -> None:
    same_acc = same_both = 0
    worst_acc = 0
    worst_score = 0.0
    slowest = 0.0
    for seed in range(1, args.small + 1):
        problem = make_instance(
            seed,
            buyers=8,
            producers=12,
            requests=40,
            slots_per_session=3,
            tables=4,
            max_per_participant=3,
        )
        started = time.perf_counter()
        result = schedule(problem)
        slowest = max(slowest, time.perf_counter() - started)
        check(problem, result)
        model = Milp(problem)
        acc = model.maximise(model.accepted, 60)
        if not acc.optimal:
            raise SystemExit(f"seed {seed}: accepted MILP not solved to optimality")
        best_acc = round(acc.value)
        score = model.maximise(model.score, 60, min_accepted=best_acc)
        if not score.optimal:
            raise SystemExit(f"seed {seed}: score MILP not solved to optimality")
        if result.accepted_placed == best_acc:
            same_acc += 1
            if result.total_score >= score.value - 1e-6:
                same_both += 1
            else:
                worst_score = max(worst_score, score.value - result.total_score)
        else:
            worst_acc = max(worst_acc, best_acc - result.accepted_placed)
    n = args.small
    print(
        f"## Small instances: {n} seeds, 20 participants (8 buyers, 12 producers), 40 requests, "
        "6 slots in 2 sessions, 4 tables, max 3 per participant\n"
    )
    print("| metric | value |")
    print("|---|---:|")
    print(f"| optimal accepted count reached | {same_acc}/{n} |")
    print(f"| optimal accepted count and score reached (lexicographic optimum) | {same_both}/{n} |")
    print(f"| largest accepted-count gap | {worst_acc} |")
    print(f"| largest score gap (where accepted count optimal) | {worst_score:.3f} |")
    print(f"| slowest scheduler run | {slowest * 1000:.0f} ms |")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--time-limit", type=float, default=3.0, help="scheduler time_limit_s")
    parser.add_argument("--milp-time", type=float, default=30.0, help="seconds per MILP bound")
    parser.add_argument("--small", type=int, default=50, help="number of small instances (0: none)")
    args = parser.parse_args()
    print(
        f"Date {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs; Python {platform.python_version()}; load average "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} (other jobs share the machine)\n"
    )
    large(args)
    if args.small:
        small(args)


if __name__ == "__main__":
    main()
