"""The write capacity of the busiest partition of every index under two loads (`make bench-capacity`).

    python -m bench.capacity [--seconds 1]

Each scenario plays a simulated second of traffic through the services (the real use cases and
repositories, the broker's dispatch and the worker's delivery with a sender that sends nothing)
over a recording memory item store with DynamoDB's write_shards (8). Every write is counted as
DynamoDB bills it, per (index, partition): 1 WCU per KB of the item (the larger of before and
after), twice that in a transaction, ConditionChecks included (they cost as a write of the item
checked); in each GSI the item is in, 1 WCU per KB of its copy (100 bytes of overhead), an update
that moves it to another partition of the index being a delete there and a put here.

- viral job: 10 000 applications a minute to ONE job (167 applies/s) with 10 000-character cover
  letters, and 20 status changes/s of its applications;
- million-application tenant: 278 applies/s and 278 status changes/s over 1 000 open jobs owned
  by 100 recruiters, 10 KB letters.

It prints, for each index and partition pattern, the busiest partition's WCU/s and its share of
DynamoDB's 1 000 WCU/s partition limit; the target is under 50 % everywhere. The table is kept
beside the key design (chalicelib/storage/entities.py), and tests/unit/test_capacity.py checks it
is what this measures. Ids and the counters' shards are drawn from seeded generators, so a run
measures the same as the last.
"""

import argparse
import contextlib
import math
import random
import types
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial

from bench.billing import INDEX_ENTRY_OVERHEAD, item_size, units
from chalicelib.config import Settings, get_settings
from chalicelib.domain import ids
from chalicelib.domain.ids import is_id
from chalicelib.domain.models import Job, Principal, Role, User
from chalicelib.domain.pipeline import ApplicationStatus
from chalicelib.domain.states import OutboxStatus
from chalicelib.messaging.delivery import deliver
from chalicelib.messaging.dispatch import BrokerDispatcher
from chalicelib.services import applications
from chalicelib.services.context import SignedIn
from chalicelib.storage.drivers.memory import MemoryItemStore
from chalicelib.storage.items import INDEXES, Check, ConditionFailed, Item, Operation
from chalicelib.storage.repositories import UnitOfWork
from chalicelib.storage.stores import Storage

PARTITION_LIMIT = 1000  # WCU/s one DynamoDB partition takes
TARGET = 0.5  # of the limit, for every partition
LETTER = ("I have built platforms like yours. " * 300)[:10_000]  # 10 000 characters, ~10 KB
STATUSES = {str(s) for s in ApplicationStatus} | {str(s) for s in OutboxStatus} | {"open", "closed", "draft"}


def pattern(partition: str) -> str:
    """A partition key with its variable parts named, its status kept: APPS#applied#3 -> APPS#applied#<shard>."""
    kind, *parts = partition.split("#")
    named = [
        "<id>" if is_id(part) else
        part if part in STATUSES else
        "<shard>" if part.isdigit() else
        "<email>" if "@" in part else
        "<key>"
        for part in parts
    ]  # fmt: skip
    return "#".join([kind, *named])


class RecordingItemStore(MemoryItemStore):
    """The memory store, counting the WCU of every write per (index or "table", partition) while
    `recording`."""

    write_shards = 8  # DynamoDB's

    def __init__(self) -> None:
        super().__init__()
        self.recording = False
        self.wcu: Counter[tuple[str, str]] = Counter()

    def transact(self, operations: Sequence[Operation]) -> None:
        before = {operation.key: self.get(operation.key) for operation in operations}
        super().transact(operations)
        for operation in operations:
            self._count(operation, before[operation.key], self.get(operation.key), transactional=True)

    def write(self, operation):
        before = self.get(operation.key)
        try:
            result = super().write(operation)
        except ConditionFailed:  # a refused conditional write is billed too, as the item's size
            self._count(Check(operation.key, operation.condition), before, before, transactional=False)
            raise
        self._count(operation, before, self.get(operation.key), transactional=False)
        return result

    def _count(self, operation: Operation, before: Item | None, after: Item | None, *, transactional: bool) -> None:
        if not self.recording:
            return
        pk = operation.key[0]
        self.wcu["table", pk] += units(max(item_size(before), item_size(after))) * (2 if transactional else 1)
        if isinstance(operation, Check):
            return
        for index in INDEXES:
            was = None if before is None else before.get(f"{index}PK")
            now = None if after is None else after.get(f"{index}PK")
            if was is not None and was != now:
                self.wcu[index, str(was)] += units(item_size(before) + INDEX_ENTRY_OVERHEAD)
            if now is not None:
                self.wcu[index, str(now)] += units(item_size(after) + INDEX_ENTRY_OVERHEAD)


# --- The world the scenarios play in ---------------------------------------------------------------


class Nowhere:
    """A sender that sends nothing (the ledger's writes are what counts)."""

    def send(self, mail) -> None:
        return None


class Handed:
    """A broker's publisher that takes every event, remembering them for the worker."""

    def __init__(self) -> None:
        self.published: list[str] = []

    def publish(self, settings: Settings, event_ids: list[str], force: bool = False) -> list[str]:
        self.published += event_ids
        return list(event_ids)


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Ids and the counters' shards from seeded generators: the same measure on every run."""
    draws = random.Random(seed)
    clock = iter(range(1_800_000_000_000_000_000, 10**20, 1_000_000))  # a millisecond an id
    saved = ids.time, ids.os, ids._last_ms, ids._last_random, random.getstate()
    ids.time = types.SimpleNamespace(time_ns=lambda: next(clock))  # type: ignore[assignment]
    ids.os = types.SimpleNamespace(urandom=draws.randbytes)  # type: ignore[assignment]
    ids._last_ms = ids._last_random = 0
    random.seed(seed)
    try:
        yield
    finally:
        ids.time, ids.os, ids._last_ms, ids._last_random, state = saved
        random.setstate(state)


@dataclass
class World:
    store: RecordingItemStore
    storage: Storage
    settings: Settings
    handed: Handed
    made: int = 0  # accounts made so far (their emails are numbered)

    @classmethod
    def new(cls) -> "World":
        store = RecordingItemStore()
        settings = get_settings({"ATS_STORAGE": "memory", "ATS_JWT_SECRET": "s" * 48, "ATS_EMAIL_BACKEND": "console"})
        return cls(store, Storage.over(store), settings, Handed())

    def uow(self) -> UnitOfWork:
        dispatcher = BrokerDispatcher(self.handed)  # type: ignore[arg-type]  # a publisher's two calls
        return UnitOfWork(self.storage, dispatcher=lambda: dispatcher, sender=Nowhere)

    def as_(self, who: Principal) -> SignedIn:
        return SignedIn(self.uow(), self.settings, who)

    def users(self, role: Role, count: int) -> list[Principal]:
        first = self.made
        self.made += count
        made = [
            User.register(email=f"u{n}@example.com", name=f"User {n}", role=role, password_hash="x")
            for n in range(first, self.made)
        ]
        for start in range(0, count, 30):  # a transaction holds 100 items: account, guard, event
            with self.uow() as uow:
                for user in made[start : start + 30]:
                    uow.users.add(user)
                uow.commit()
        return [Principal(user.id, user.role) for user in made]

    def jobs(self, owners: Sequence[Principal], count: int) -> list[str]:
        made = [Job.publish(owner=owners[n % len(owners)], title=f"Engineer {n}", status="open") for n in range(count)]
        for first in range(0, len(made), 20):  # a transaction holds 100 items: job, check, member, event
            with self.uow() as uow:
                for job in made[first : first + 20]:
                    uow.jobs.add(job)
                uow.commit()
        return [job.id for job in made]

    def deliver_handed(self) -> None:
        """The worker: each handed event's emails sent (claimed, completed) and the event marked sent."""
        uow = self.uow()
        for event_id in self.handed.published:
            deliver(uow, self.settings, event_id, sender=Nowhere())
        self.handed.published.clear()


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    play: Callable[[World, int], None]  # a second of traffic, recorded; its argument: the seconds


Call = Callable[[], object]  # one request of the load


def _interleaved(applies: list[Call], changes: list[Call]) -> list[Call]:
    """The calls of one second in the order they arrive: the status changes spread among the applies."""
    calls, step = list(applies), max(1, len(applies) // max(1, len(changes)))
    for n, change in enumerate(changes):
        calls.insert(min(len(calls), n * (step + 1)), change)
    return calls


def _second(world: World, applies: list[Call], changes: list[Call]) -> None:
    world.store.recording = True
    for call in _interleaved(applies, changes):
        call()
        world.deliver_handed()
    world.store.recording = False


def _apply(world: World, candidate: Principal, job_id: str) -> object:
    return applications.apply(world.as_(candidate), job_id=job_id, cover_letter=LETTER)


def _change(world: World, staff: Principal, application_id: str) -> object:
    return applications.change_status(world.as_(staff), application_id, status=ApplicationStatus.SCREENING)


def viral_job(world: World, seconds: int) -> None:
    applies_per_s, changes_per_s = 167, 20
    (recruiter,) = world.users(Role.RECRUITER, 1)
    (job_id,) = world.jobs([recruiter], 1)
    waiting = world.users(Role.CANDIDATE, changes_per_s * seconds)
    moved = [applications.apply(world.as_(c), job_id=job_id, cover_letter=LETTER).id for c in waiting]
    candidates = world.users(Role.CANDIDATE, applies_per_s * seconds)
    world.deliver_handed()
    _second(
        world,
        [partial(_apply, world, c, job_id) for c in candidates],
        [partial(_change, world, recruiter, a) for a in moved],
    )


def tenant(world: World, seconds: int) -> None:
    applies_per_s, changes_per_s, jobs, recruiters = 278, 278, 1000, 100
    owners = world.users(Role.RECRUITER, recruiters)
    job_ids = world.jobs(owners, jobs)
    owner_of = {job_id: owners[n % recruiters] for n, job_id in enumerate(job_ids)}
    spread = random.Random(1)
    waiting = world.users(Role.CANDIDATE, changes_per_s * seconds)
    moved = []
    for candidate in waiting:
        job_id = spread.choice(job_ids)
        applied = applications.apply(world.as_(candidate), job_id=job_id, cover_letter=LETTER)
        moved.append((applied.id, owner_of[job_id]))
    candidates = [(c, spread.choice(job_ids)) for c in world.users(Role.CANDIDATE, applies_per_s * seconds)]
    world.deliver_handed()
    _second(
        world,
        [partial(_apply, world, c, j) for c, j in candidates],
        [partial(_change, world, r, a) for a, r in moved],
    )


SCENARIOS = (
    Scenario("viral", "viral job", viral_job),
    Scenario("tenant", "1M-application tenant", tenant),
)


# --- The measure and its table ---------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    index: str  # "table" or GSI<n>
    partition: str  # its pattern
    busiest: dict[str, int]  # scenario name -> the busiest partition's WCU/s


def measure(seconds: int = 1) -> list[Row]:
    """Per (index, partition pattern), the busiest partition's WCU/s in each scenario."""
    busiest: dict[tuple[str, str], dict[str, int]] = {}
    for scenario in SCENARIOS:
        world = World.new()
        with seeded(7):
            scenario.play(world, seconds)
        for (index, partition), wcu in world.store.wcu.items():
            row = busiest.setdefault((index, pattern(partition)), {})
            row[scenario.name] = max(row.get(scenario.name, 0), math.ceil(wcu / seconds))
    order = {"table": 0, **{index: n for n, index in enumerate(INDEXES, start=1)}}
    return [
        Row(index, partition, scores)
        for (index, partition), scores in sorted(busiest.items(), key=lambda kv: (order[kv[0][0]], kv[0][1]))
    ]


def share(wcu: int) -> float:
    """Of the partition limit, as a fraction."""
    return wcu / PARTITION_LIMIT


def table(rows: Sequence[Row]) -> str:
    """The rows as the Markdown table kept in entities.py's docstring."""
    head = ["index", "partition", *(f"{s.title} WCU/s" for s in SCENARIOS)]
    lines = [head] + [[row.index, row.partition, *(_cell(row.busiest.get(s.name)) for s in SCENARIOS)] for row in rows]
    widths = [max(len(line[n]) for line in lines) for n in range(len(head))]
    rendered = [
        "| " + " | ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)) + " |" for line in lines
    ]
    rendered.insert(1, "|" + "|".join("-" * (width + 2) for width in widths) + "|")
    return "\n".join(rendered)


def _cell(wcu: int | None) -> str:
    return "-" if wcu is None else f"{wcu} ({100 * share(wcu):.1f} %)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.capacity", description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=1, help="simulated seconds of each load")
    args = parser.parse_args(argv)
    rows = measure(args.seconds)
    print(table(rows))
    over = [row for row in rows if any(share(wcu) >= TARGET for wcu in row.busiest.values())]
    for row in over:
        print(f"over {TARGET:.0%} of a partition's {PARTITION_LIMIT} WCU/s: {row.index} {row.partition}")
    return 1 if over else 0


if __name__ == "__main__":
    raise SystemExit(main())
