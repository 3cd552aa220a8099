"""Trigger rules: may a task instance run, given the states of its upstream task instances?

The rules and their outcomes are Airflow 2.x's (``TriggerRuleDep``): each rule looks only at
counts of finished upstream task instances, and answers one of four decisions. The teardown
rule ``all_done_setup_success`` also looks at the counts of the upstreams that are setups.

``removed`` upstreams (a task gone from the DAG version, or a mapped index that no longer
exists) count as done but never block a downstream: Airflow discounts them in the
"all ..." rules (it does so for mapped task instances; for a plain task a removed task is in
practice no longer an upstream at all), and so do we.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from enum import StrEnum

from tradewind.core.states import FINISHED_STATES, TaskInstanceState, parse_ti_state


class TriggerRule(StrEnum):
    """When a task runs, in terms of its direct upstreams (Airflow's names and values)."""

    ALL_SUCCESS = "all_success"
    ALL_FAILED = "all_failed"
    ALL_DONE = "all_done"
    ALL_SKIPPED = "all_skipped"
    ONE_SUCCESS = "one_success"
    ONE_FAILED = "one_failed"
    ONE_DONE = "one_done"
    NONE_FAILED = "none_failed"
    NONE_FAILED_MIN_ONE_SUCCESS = "none_failed_min_one_success"
    NONE_SKIPPED = "none_skipped"
    ALWAYS = "always"
    ALL_DONE_SETUP_SUCCESS = "all_done_setup_success"


class Decision(StrEnum):
    """What the scheduler should do with a task instance that has no state yet."""

    WAIT = "wait"  # not decidable yet: leave the task instance alone
    RUN = "run"  # schedule it
    SKIP = "skip"  # mark it skipped
    UPSTREAM_FAILED = "upstream_failed"  # mark it upstream_failed


_COUNTED = ("success", "skipped", "failed", "upstream_failed", "removed")


@dataclass(frozen=True)
class UpstreamStates:
    """Counts of a task instance's upstream task instances, by state.

    Attributes:
        success: upstreams in ``success``.
        skipped: upstreams in ``skipped``.
        failed: upstreams in ``failed``.
        upstream_failed: upstreams in ``upstream_failed``.
        removed: upstreams in ``removed``.
        done: finished upstreams, the sum of the five counts above.
        total: all upstreams, finished or not.
    """

    success: int = 0
    skipped: int = 0
    failed: int = 0
    upstream_failed: int = 0
    removed: int = 0
    done: int = 0
    total: int = 0

    def __post_init__(self) -> None:
        for f in fields(self):
            if getattr(self, f.name) < 0:
                raise ValueError(f"UpstreamStates.{f.name} must not be negative: {self}")
        finished = sum(getattr(self, name) for name in _COUNTED)
        if self.done != finished:
            raise ValueError(
                f"UpstreamStates.done must be {finished}, the sum of the finished counts: {self}"
            )
        if self.total < self.done:
            raise ValueError(f"UpstreamStates.total must be at least done ({self.done}): {self}")

    @classmethod
    def from_states(cls, states: Iterable[TaskInstanceState | str | None]) -> UpstreamStates:
        """Count the states of all upstream task instances (``None`` = no state yet).

        Raises:
            ValueError: a string is not a task-instance state.
        """
        counter: Counter[TaskInstanceState | None] = Counter()
        for state in states:
            counter[state if isinstance(state, TaskInstanceState) else parse_ti_state(state)] += 1
        return cls._build(counter, total=sum(counter.values()))

    @classmethod
    def from_counts(
        cls, counts: Mapping[TaskInstanceState | str | None, int], total: int
    ) -> UpstreamStates:
        """Build from a state -> count mapping, as a ``GROUP BY state`` query returns it.

        Args:
            counts: number of upstream task instances per state; unfinished states are ignored.
            total: number of upstream task instances, finished or not.
        """
        counter: Counter[TaskInstanceState | None] = Counter()
        for state, count in counts.items():
            counter[state if isinstance(state, TaskInstanceState) else parse_ti_state(state)] += (
                count
            )
        return cls._build(counter, total=total)

    @classmethod
    def _build(cls, counter: Mapping[TaskInstanceState | None, int], total: int) -> UpstreamStates:
        counts = {name: counter.get(TaskInstanceState(name), 0) for name in _COUNTED}
        done = sum(counter.get(state, 0) for state in FINISHED_STATES)
        return cls(**counts, done=done, total=total)


def validate_trigger_rule(value: str) -> TriggerRule:
    """Return the trigger rule named ``value``.

    Raises:
        ValueError: ``value`` is not a trigger rule; the message lists the valid ones.
    """
    try:
        return TriggerRule(value)
    except ValueError:
        valid = ", ".join(rule.value for rule in TriggerRule)
        raise ValueError(f"invalid trigger rule {value!r}; valid rules are: {valid}") from None


def evaluate(
    rule: TriggerRule | str, up: UpstreamStates, setups: UpstreamStates | None = None
) -> Decision:
    """Decide what to do with a task instance, given its trigger rule and upstream states.

    A task without upstreams runs whatever its rule (as in Airflow). Once all upstreams are
    done the answer is never ``WAIT``.

    Raises:
        ValueError: ``rule`` is not a trigger rule.
    """
    rule = rule if isinstance(rule, TriggerRule) else validate_trigger_rule(rule)
    if up.total == 0 or rule is TriggerRule.ALWAYS:
        return Decision.RUN
    if rule is TriggerRule.ALL_DONE_SETUP_SUCCESS:
        return _all_done_setup_success(up, setups or UpstreamStates())
    return _RULES[rule](up, up.done >= up.total)


def _all_done_setup_success(up: UpstreamStates, setups: UpstreamStates) -> Decision:
    """A teardown: once everything upstream is done, run if a setup succeeded (or there is
    none); skip if all its setups were skipped; otherwise its setups failed."""
    if up.done < up.total:
        return Decision.WAIT
    if setups.total == 0 or setups.success:
        return Decision.RUN
    if setups.skipped >= setups.total:
        return Decision.SKIP
    return Decision.UPSTREAM_FAILED


def _all_success(up: UpstreamStates, all_done: bool) -> Decision:
    if up.failed or up.upstream_failed:
        return Decision.UPSTREAM_FAILED
    if up.skipped:
        return Decision.SKIP
    return Decision.RUN if up.success + up.removed >= up.total else Decision.WAIT


def _all_failed(up: UpstreamStates, all_done: bool) -> Decision:
    if up.success or up.skipped:
        return Decision.SKIP
    failures = up.failed + up.upstream_failed + up.removed
    return Decision.RUN if failures >= up.total else Decision.WAIT


def _all_done(up: UpstreamStates, all_done: bool) -> Decision:
    return Decision.RUN if all_done else Decision.WAIT


def _all_skipped(up: UpstreamStates, all_done: bool) -> Decision:
    if up.success or up.failed or up.upstream_failed:
        return Decision.SKIP
    return Decision.RUN if up.skipped + up.removed >= up.total else Decision.WAIT


def _one_success(up: UpstreamStates, all_done: bool) -> Decision:
    if up.success:
        return Decision.RUN
    if not all_done:
        return Decision.WAIT
    # Airflow: all skipped -> skipped; otherwise (some failed or removed) -> upstream_failed.
    return Decision.SKIP if up.done == up.skipped else Decision.UPSTREAM_FAILED


def _one_failed(up: UpstreamStates, all_done: bool) -> Decision:
    if up.failed or up.upstream_failed:
        return Decision.RUN
    return Decision.SKIP if all_done else Decision.WAIT


def _one_done(up: UpstreamStates, all_done: bool) -> Decision:
    # Airflow counts only success and failed here: upstream_failed/skipped are not "done" work.
    if up.success or up.failed:
        return Decision.RUN
    return Decision.SKIP if all_done else Decision.WAIT


def _none_failed(up: UpstreamStates, all_done: bool) -> Decision:
    if up.failed or up.upstream_failed:
        return Decision.UPSTREAM_FAILED
    return Decision.RUN if all_done else Decision.WAIT


def _none_failed_min_one_success(up: UpstreamStates, all_done: bool) -> Decision:
    if up.failed or up.upstream_failed:
        return Decision.UPSTREAM_FAILED
    if not all_done:
        return Decision.WAIT
    # Without removed upstreams this is Airflow's "all skipped -> skipped"; with only
    # skipped and removed ones we also skip, as the rule's name promises.
    return Decision.RUN if up.success else Decision.SKIP


def _none_skipped(up: UpstreamStates, all_done: bool) -> Decision:
    if up.skipped:
        return Decision.SKIP
    return Decision.RUN if all_done else Decision.WAIT


_RULES = {
    TriggerRule.ALL_SUCCESS: _all_success,
    TriggerRule.ALL_FAILED: _all_failed,
    TriggerRule.ALL_DONE: _all_done,
    TriggerRule.ALL_SKIPPED: _all_skipped,
    TriggerRule.ONE_SUCCESS: _one_success,
    TriggerRule.ONE_FAILED: _one_failed,
    TriggerRule.ONE_DONE: _one_done,
    TriggerRule.NONE_FAILED: _none_failed,
    TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS: _none_failed_min_one_success,
    TriggerRule.NONE_SKIPPED: _none_skipped,
}
