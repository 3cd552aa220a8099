"""The slot planner: priorities, independent pools, hard caps and EASY backfilling."""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Hashable, Sequence
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from tradewind.core.planning import Candidate, Limits, Running, plan, unrunnable

NOW = datetime(2026, 1, 1, tzinfo=UTC)
Planner = Callable[[Sequence[Candidate], Sequence[Running], Limits, datetime], list[Hashable]]


def cand(key: str, *, pool: str = "default", slots: int = 1, prio: int = 1, dur: float = 1.0,
         dag: str = "d", order: float = 0.0) -> Candidate:  # fmt: skip
    return Candidate(key, dag, pool, slots, prio, dur, order)


def run(
    key: str, ends_in: float, *, pool: str = "default", slots: int = 1, dag: str = "d"
) -> Running:
    return Running(key, dag, pool, slots, NOW + timedelta(seconds=ends_in))


def limits(pools: dict[str, int] | None = None, parallelism: int = 0, **caps: int) -> Limits:
    return Limits(parallelism, pools if pools is not None else {"default": 4}, caps)


# --- plain planning -------------------------------------------------------------------------


def test_highest_priority_first_then_earliest_ready() -> None:
    cands = [cand("low", prio=1), cand("late", prio=5, order=2), cand("early", prio=5, order=1)]
    assert plan(cands, [], limits({"default": 2}), NOW) == ["early", "late"]


def test_a_pool_fills_greedily_while_the_head_fits() -> None:
    cands = [cand("a", slots=2, prio=3), cand("b", slots=1, prio=2), cand("c", slots=1, prio=1)]
    assert plan(cands, [run("r", 5)], limits(), NOW) == ["a", "b"]


def test_nothing_starts_when_nothing_is_ready_or_every_slot_is_taken() -> None:
    assert plan([], [], limits(), NOW) == []
    full = [run(f"r{i}", 5) for i in range(4)]
    assert plan([cand("x")], full, limits(), NOW) == []


def test_an_unlimited_pool_never_blocks() -> None:
    cands = [cand(f"c{i}", pool="free", slots=3) for i in range(50)]
    assert len(plan(cands, [], limits({"free": -1}), NOW)) == 50


def test_a_pool_shrunk_below_what_runs_in_it_starts_nothing() -> None:
    running = [run(f"r{i}", 5) for i in range(4)]
    assert plan(
        [cand("x"), cand("y", pool="other")], running, limits({"default": 2, "other": 1}), NOW
    ) == ["y"]


# --- pools are independent ------------------------------------------------------------------


def test_a_full_pool_with_many_candidates_does_not_hold_back_another_pool() -> None:
    crowd = [cand(f"a{i}", pool="A", prio=100, order=i) for i in range(1000)]
    running = [run("ra", 60, pool="A")]
    lone = cand("b", pool="B", prio=1, order=5000)
    assert plan([*crowd, lone], running, limits({"A": 1, "B": 1}), NOW) == ["b"]


def test_a_blocked_head_in_one_pool_does_not_reserve_slots_of_another() -> None:
    cands = [cand("big", pool="A", slots=4, prio=10), cand("long", pool="B", dur=100)]
    assert plan(cands, [run("ra", 5, pool="A")], limits({"A": 4, "B": 1}), NOW) == ["long"]


# --- hard caps ------------------------------------------------------------------------------


def test_parallelism_caps_the_total_and_goes_to_the_highest_priorities() -> None:
    cands = [
        cand("a1", pool="A", prio=1),
        cand("b9", pool="B", prio=9),
        cand("a5", pool="A", prio=5),
    ]
    got = plan(cands, [run("r", 5, pool="C")], limits({"A": 9, "B": 9, "C": 9}, parallelism=3), NOW)
    assert got == ["b9", "a5"]
    assert (
        plan(cands, [run("r", 5), run("s", 5)], limits({"A": 9, "B": 9}, parallelism=2), NOW) == []
    )


def test_zero_parallelism_means_unlimited() -> None:
    cands = [cand(f"c{i}", pool="p") for i in range(100)]
    assert len(plan(cands, [], limits({"p": 100}, parallelism=0), NOW)) == 100


def test_max_active_tasks_caps_each_dag_and_lets_others_through() -> None:
    cands = [cand(f"x{i}", dag="x", prio=9, order=i) for i in range(5)] + [cand("y", dag="y")]
    got = plan(cands, [run("rx", 5, dag="x")], limits({"default": 10}, x=3), NOW)
    assert got == ["x0", "x1", "y"]


def test_a_dag_at_its_cap_does_not_take_a_reservation_it_could_not_use() -> None:
    capped_big = cand("big", dag="capped", slots=4, prio=10)
    long_small = cand("small", dag="other", dur=100)
    got = plan([capped_big, long_small], [run("r", 5, slots=2)], limits(capped=0), NOW)
    assert got == ["small"]


# --- EASY backfilling -----------------------------------------------------------------------


def test_a_short_task_fills_the_gap_before_the_heads_reservation() -> None:
    # 3 of 4 slots busy for 10 s: the 4-slot head is reserved at +10 s.
    running = [run("r", 10, slots=3)]
    cands = [cand("head", slots=4, prio=10), cand("long", dur=20, prio=5), cand("short", dur=5)]
    assert plan(cands, running, limits(), NOW) == ["short"]


def test_a_task_that_would_delay_the_head_waits() -> None:
    running = [run("r", 10, slots=3)]
    assert (
        plan([cand("head", slots=4, prio=10), cand("long", dur=10.5)], running, limits(), NOW) == []
    )


def test_a_long_task_may_use_slots_the_head_will_not_need() -> None:
    # 6 slots, 2 free; 2 free up at +2 s, when the 3-slot head needs only 3 of the 4: 1 extra.
    running = [run("soon", 2, slots=2), run("later", 10, slots=2)]
    cands = [
        cand("head", slots=3, prio=10),
        cand("long1", dur=100, prio=5, order=1),
        cand("long2", dur=100, prio=5, order=2),
        cand("short", dur=1),
    ]
    assert plan(cands, running, limits({"default": 6}), NOW) == ["long1", "short"]


def test_tasks_started_in_this_plan_count_toward_the_reservation() -> None:
    # "first" takes the last free slot for 3 s; then the 2-slot head is reserved at +3 s.
    cands = [
        cand("first", prio=20, dur=3),
        cand("head", slots=2, prio=10),
        cand("fits", dur=2.5),
        cand("too_long", dur=4),
    ]
    running = [run("r", 8)]
    assert plan(cands, running, limits({"default": 3}), NOW) == ["first", "fits"]
    assert plan(cands[:2] + cands[3:], running, limits({"default": 3}), NOW) == ["first"]


def test_an_overdue_task_is_expected_to_end_any_moment() -> None:
    cands = [cand("head", slots=2, prio=10), cand("short", dur=0.5)]
    assert plan(cands, [run("late", -30)], limits({"default": 2}), NOW) == []


# --- unrunnable candidates ------------------------------------------------------------------


def test_unrunnable_candidates_are_reported_and_never_block_a_pool() -> None:
    cands = [
        cand("huge", slots=5, prio=10),
        cand("nopool", pool="gone", prio=10),
        cand("zero", slots=0, prio=10),
        cand("ok", dur=100),
    ]
    assert plan(cands, [run("r", 5)], limits(), NOW) == ["ok"]
    reasons = unrunnable(cands, limits())
    assert list(reasons) == ["huge", "nopool", "zero"]
    assert "needs 5 slots but pool 'default' has only 4" in reasons["huge"]
    assert "pool 'gone' does not exist" in reasons["nopool"]
    assert "at least 1" in reasons["zero"]
    assert unrunnable(cands, limits({"default": -1, "gone": 1})) == {"zero": reasons["zero"]}


# --- a discrete-event simulation with an injected clock -------------------------------------


def greedy(
    cands: Sequence[Candidate], running: Sequence[Running], lim: Limits, now: datetime
) -> list[Hashable]:
    """Start whatever fits, by priority: the allocator that starves wide tasks."""
    free = dict(lim.pools)
    for r in running:
        free[r.pool] -= r.pool_slots
    started: list[Hashable] = []
    for c in sorted(cands, key=lambda c: (-c.priority_weight, c.order)):
        if c.pool_slots <= free.get(c.pool, 0):
            free[c.pool] -= c.pool_slots
            started.append(c.key)
    return started


def simulate(planner: Planner, horizon: float) -> tuple[dict[Hashable, float], int]:
    """Run a pool of 4 fed a short task every 0.25 s, and one 4-slot task ready at t=2.5.

    Tasks run exactly their expected duration. Returns the start time of every task and the
    fewest short tasks seen waiting at any planning step (to show the stream never dried up).
    """
    lim = limits({"default": 4})
    # Slots free up one at a time: 4 running shorts staggered by 0.25 s.
    running = {f"r{i}": run(f"r{i}", 0.25 * (i + 1)) for i in range(4)}
    arrivals = [(0.0, cand(f"s{i}", order=-i)) for i in range(4)]  # a backlog at the start
    arrivals += [(0.25 * i, cand(f"s{i + 4}", order=0.25 * i)) for i in range(int(horizon * 4))]
    arrivals.append((2.5, cand("big", slots=4, prio=10, order=2.5)))
    arrivals.sort(key=lambda arrival: arrival[0])
    pending = deque(arrivals)
    waiting: dict[Hashable, Candidate] = {}
    starts: dict[Hashable, float] = {}
    fewest_waiting = 1 << 30
    t = 0.0
    while t <= horizon:
        now = NOW + timedelta(seconds=t)
        running = {k: r for k, r in running.items() if r.expected_end > now}
        while pending and pending[0][0] <= t:
            c = pending.popleft()[1]
            waiting[c.key] = c
        fewest_waiting = min(fewest_waiting, sum(1 for k in waiting if k != "big"))
        for key in planner(list(waiting.values()), list(running.values()), lim, now):
            c = waiting.pop(key)
            running[key] = Running(
                key, c.dag_id, c.pool, c.pool_slots, now + timedelta(seconds=c.expected_duration)
            )
            starts[key] = t
        ends = [(r.expected_end - NOW).total_seconds() for r in running.values()]
        t = min(ends + [pending[0][0]] if pending else ends, default=horizon + 1)
    return starts, fewest_waiting


def test_easy_starts_the_wide_task_within_one_short_task_duration() -> None:
    starts, fewest_waiting = simulate(plan, horizon=30)
    assert fewest_waiting > 0
    assert starts["big"] <= 2.5 + 1.0 + 1e-6
    # The short tasks keep flowing before and after it.
    assert sum(1 for k, s in starts.items() if k != "big" and s > starts["big"] + 1) > 50


def test_a_greedy_allocator_starves_the_wide_task_forever() -> None:
    starts, fewest_waiting = simulate(greedy, horizon=30)
    assert fewest_waiting > 0
    assert "big" not in starts


# --- properties -----------------------------------------------------------------------------

POOLS = {"a": 4, "b": 2, "c": -1}
candidate_lists = st.lists(
    st.builds(
        Candidate,
        key=st.uuids(),
        dag_id=st.sampled_from(["d1", "d2", "d3"]),
        pool=st.sampled_from(["a", "b", "c", "missing"]),
        pool_slots=st.integers(0, 5),
        priority_weight=st.integers(0, 3),
        expected_duration=st.floats(0, 20),
        order=st.floats(0, 10),
    ),
    max_size=30,
)
running_lists = st.lists(
    st.builds(
        Running,
        key=st.uuids(),
        dag_id=st.sampled_from(["d1", "d2"]),
        pool=st.sampled_from(["a", "b", "c"]),
        pool_slots=st.integers(1, 2),
        expected_end=st.floats(-5, 20).map(lambda s: NOW + timedelta(seconds=s)),
    ),
    max_size=6,
)


@settings(max_examples=300)
@given(candidate_lists, running_lists, st.integers(0, 8), st.integers(0, 4))
def test_plans_never_break_a_cap(
    cands: list[Candidate], running: list[Running], parallelism: int, d1_cap: int
) -> None:
    lim = Limits(parallelism, POOLS, {"d1": d1_cap})
    got = plan(cands, running, lim, NOW)
    by_key = {c.key: c for c in cands}
    started = [by_key[k] for k in got]
    assert len(set(got)) == len(got)
    assert not set(got) & set(unrunnable(cands, lim))
    if parallelism:
        assert len(running) + len(got) <= parallelism or not got
    used = Counter[str]()
    for item in [*running, *started]:
        used[item.pool] += item.pool_slots
    for pool, size in POOLS.items():
        if size >= 0 and any(c.pool == pool for c in started):
            assert used[pool] <= size
    d1 = sum(1 for item in [*running, *started] if item.dag_id == "d1")
    assert d1 <= max(d1_cap, sum(1 for r in running if r.dag_id == "d1"))
    ranks = [(-c.priority_weight, c.order) for c in started]
    assert ranks == sorted(ranks)


@given(candidate_lists)
def test_with_room_for_everything_everything_runnable_starts(cands: list[Candidate]) -> None:
    lim = Limits(0, {"a": 1000, "b": 1000, "c": -1}, {})
    runnable = [c.key for c in cands if c.key not in unrunnable(cands, lim)]
    assert sorted(map(str, plan(cands, [], lim, NOW))) == sorted(map(str, runnable))


def test_ten_thousand_candidates_plan_in_one_pass() -> None:
    """Correctness at scale (timing lives in bench/bench_planner.py)."""
    pools = {f"p{i}": 8 for i in range(10)}
    cands = [
        cand(f"c{i}", pool=f"p{i % 10}", slots=1 + i % 3, prio=i % 7, dur=1 + i % 13, order=i)
        for i in range(10_000)
    ]
    running = [run(f"r{i}", i % 11, pool=f"p{i % 10}", slots=1 + i % 2) for i in range(40)]
    got = plan(cands, running, limits(pools, parallelism=200), NOW)
    # Odd pools are full (4 running 2-slot tasks each); even ones have 4 of 8 slots free.
    by_key = {c.key: c for c in cands}
    used = Counter[str]()
    for key in got:
        used[by_key[key].pool] += by_key[key].pool_slots
    assert set(used) == {"p0", "p2", "p4", "p6", "p8"}
    assert all(slots <= 4 for slots in used.values())
