"""Time in stage and the funnel: what each change of an application adds to its job's counters,
and the funnel read back from their sums (API.md §2). The counters are written in the change's
own transaction, so a funnel costs the same for 100 applications as for 100 000.

Medians come from log-scale histograms: a duration falls in bucket 1 + floor(4 log2 s) (bucket 0
below one second), so a bucket spans a factor 2^(1/4) ≈ 1.19, and the median is given as the
geometric middle of its bucket: within 9 % of the exact median, in a fixed number of counters.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

STAY = "stay_"  # stage histogram counters: stay_<bucket>
HIRE = "hire_"  # time-to-hire histogram counters: hire_<bucket>
OUTCOME_NAMES = ("rejected", "withdrawn", "hired")


def bucket(seconds: float) -> int:
    return 0 if seconds < 1 else 1 + math.floor(4 * math.log2(seconds))


def median_seconds(counters: Mapping[str, int | float], prefix: str) -> int | None:
    """The median duration the histogram under `prefix` holds; None when it holds none."""
    histogram = sorted(
        (int(name[len(prefix) :]), int(count)) for name, count in counters.items() if name.startswith(prefix)
    )
    total = sum(count for _, count in histogram)
    if total <= 0:
        return None
    seen = 0
    for index, count in histogram:
        seen += count
        if 2 * seen >= total:
            return 0 if index == 0 else round(2 ** ((index - 0.5) / 4))
    return None  # not reached: the counts add up to total


@dataclass
class Tally:
    """What one change adds to its job's counters: per stage, applications in it now (`current`),
    applications entering it for the first time (`entered`) and the visits that ended (their
    durations, for the stage's histogram); per job, the outcomes and the times to hire."""

    current: dict[str, int] = field(default_factory=dict)
    entered: set[str] = field(default_factory=set)
    stays: dict[str, list[float]] = field(default_factory=dict)
    outcomes: dict[str, int] = field(default_factory=dict)
    to_hire: list[float] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.current or self.entered or self.stays or self.outcomes or self.to_hire)

    def stage_counters(self) -> dict[str, dict[str, int]]:
        """stage id -> {counter: amount to add}."""
        added: dict[str, dict[str, int]] = {}
        for stage_id, amount in self.current.items():
            added.setdefault(stage_id, {})["current"] = amount
        for stage_id in self.entered:
            added.setdefault(stage_id, {})["entered"] = 1
        for stage_id, durations in self.stays.items():
            counters = added.setdefault(stage_id, {})
            for seconds in durations:
                name = f"{STAY}{bucket(seconds)}"
                counters[name] = counters.get(name, 0) + 1
        return {stage_id: counters for stage_id, counters in added.items() if any(counters.values())}

    def job_counters(self) -> dict[str, int]:
        added = {name: amount for name, amount in self.outcomes.items() if amount}
        for seconds in self.to_hire:
            name = f"{HIRE}{bucket(seconds)}"
            added[name] = added.get(name, 0) + 1
        return added
