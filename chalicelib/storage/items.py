"""The item-store port: the few primitives every storage driver implements exactly alike.

An item is a flat dict of attribute name -> str | int | float; an attribute without a value is
simply absent (None is never stored). Every item has "PK" and "SK", its key, and "type", the
entity it holds. An item is in index GSI<n> when it has GSI<n>PK (and GSI<n>SK): the indexes
are sparse. "ttl" (epoch seconds) marks an item the store may delete once that time has passed
(DynamoDB's TimeToLive, a sweep elsewhere); deletion lags, so readers compare their own times.
Numbers come back as int or float, equal to what was written; callers convert.

Writes are operations (Put, Update, Delete, Check), each with an optional condition on the item
as it is before the write. `transact` applies up to 100 operations, one per key, all or none;
`write` applies one at once. A condition that does not hold raises ConditionFailed naming the
operation: in a transaction, the first one in the caller's order whose condition fails.

The conditions are a small algebra evaluated by `holds`, the reference the drivers agree with:
DynamoDB's semantics, where a missing item is an item without attributes.
"""

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NamedTuple, TypeVar, Union

Value = str | int | float
Item = dict[str, Value]
Key = tuple[str, str]  # (PK, SK)

INDEXES = ("GSI1", "GSI2", "GSI3", "GSI4", "GSI5", "GSI6")
MAX_TRANSACTION_ITEMS = 100  # DynamoDB's limit for one TransactWriteItems
NOTHING: Mapping = MappingProxyType({})  # an empty mapping no one can fill (a shared default)


def key_of(item: Mapping[str, Value]) -> Key:
    return str(item["PK"]), str(item["SK"])


def new_item(kind: str, key: Key, **attributes: Value | None) -> Item:
    """An item of its kind: its key, its type, and the attributes that have a value."""
    item: Item = {"PK": key[0], "SK": key[1], "type": kind}
    item.update({name: value for name, value in attributes.items() if value is not None})
    return item


# --- Conditions -----------------------------------------------------------------------------------
# Conditions and operations are NamedTuples, not frozen dataclasses: as immutable, and a cold
# start makes each class in a tenth of the time (a Lambda's first request pays for every class).
# Nothing compares them: ConditionFailed names its operation by identity.


class Exists(NamedTuple):
    """The item exists."""


class Missing(NamedTuple):
    """The item does not exist."""


class Absent(NamedTuple):
    """The item has no such attribute (true of a missing item)."""

    name: str


class Compare(NamedTuple):
    """The attribute is set and compares to the value by `op`: one of = < <= > >= (to a value of
    its type), "in" (equal to one of a tuple of values), "contains" (a string containing the text)
    or "begins" (a string starting with the text)."""

    name: str
    op: str
    value: Value | tuple[Value, ...]


class All(NamedTuple):
    parts: tuple["Condition", ...]


class AnyOf(NamedTuple):
    parts: tuple["Condition", ...]


Condition = Union[Exists, Missing, Absent, Compare, All, AnyOf]  # noqa: UP007  (recursive alias)


def exists() -> Condition:
    return Exists()


def missing() -> Condition:
    return Missing()


def absent(name: str) -> Condition:
    return Absent(name)


def equals(name: str, value: Value) -> Condition:
    return Compare(name, "=", value)


def below(name: str, value: Value) -> Condition:
    return Compare(name, "<", value)


def at_most(name: str, value: Value) -> Condition:
    return Compare(name, "<=", value)


def above(name: str, value: Value) -> Condition:
    return Compare(name, ">", value)


def one_of(name: str, values: Iterable[Value]) -> Condition:
    return Compare(name, "in", tuple(values))


def contains(name: str, text: str) -> Condition:
    return Compare(name, "contains", text)


def begins(name: str, text: str) -> Condition:
    return Compare(name, "begins", text)


def all_of(*conditions: Condition | None) -> Condition | None:
    """The conjunction of the conditions given (None ones left out); None when there are none."""
    parts = tuple(c for c in conditions if c is not None)
    return None if not parts else parts[0] if len(parts) == 1 else All(parts)


def any_of(*conditions: Condition | None) -> Condition | None:
    """The disjunction of the conditions given (None ones left out); None when there are none."""
    parts = tuple(c for c in conditions if c is not None)
    return None if not parts else parts[0] if len(parts) == 1 else AnyOf(parts)


_COMPARE = {
    "=": lambda a, b: a == b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _comparable(a: Value, b: Value) -> bool:
    """DynamoDB compares a string with a string and a number with a number, nothing else."""
    return isinstance(a, str) == isinstance(b, str)


def holds(condition: Condition | None, item: Mapping[str, Value] | None) -> bool:
    """Whether the condition holds of the item (None: the item does not exist)."""
    if condition is None:
        return True
    # By the condition's class, in a table: every write of a transaction tests one or more, and
    # a `match` tries its cases in turn (an Exists inside an All went through six of them).
    test = _TESTS.get(type(condition))
    if test is None:
        raise TypeError(f"not a condition: {condition!r}")
    return test(condition, item)


def _compare_holds(condition: Compare, item: Mapping[str, Value] | None) -> bool:
    name, op, value = condition
    found: Mapping[str, Value] = item or {}
    if op == "in" and isinstance(value, tuple):
        return any(holds(Compare(name, "=", one), item) for one in value)
    if op == "contains" and isinstance(value, str):
        current = found.get(name)
        return isinstance(current, str) and value in current
    if op == "begins" and isinstance(value, str):
        current = found.get(name)
        return isinstance(current, str) and current.startswith(value)
    if isinstance(value, str | int | float):
        return name in found and _comparable(found[name], value) and _COMPARE[op](found[name], value)
    raise TypeError(f"not a condition: {condition!r}")


# All and AnyOf by loops, not all() or any() of a generator, which costs more to make than the
# parts cost to test (a job's guard, an All of three and an AnyOf of two: 20k instructions -> 13k).


def _all_hold(condition: All, item: Mapping[str, Value] | None) -> bool:
    for part in condition.parts:  # noqa: SIM110  (see above)
        if not holds(part, item):
            return False
    return True


def _any_holds(condition: AnyOf, item: Mapping[str, Value] | None) -> bool:
    for part in condition.parts:  # noqa: SIM110  (see above)
        if holds(part, item):
            return True
    return False


_TESTS: dict[type, Callable[[Any, Mapping[str, Value] | None], bool]] = {
    Exists: lambda condition, item: item is not None,
    Missing: lambda condition, item: item is None,
    Absent: lambda condition, item: item is None or condition.name not in item,
    Compare: _compare_holds,
    All: _all_hold,
    AnyOf: _any_holds,
}


# --- Operations -----------------------------------------------------------------------------------


class Put(NamedTuple):
    """Write the whole item (replacing any item of its key)."""

    item: Item
    condition: Condition | None = None
    failure: Exception | None = None  # what its failed condition means, for the caller to raise

    @property
    def key(self) -> Key:
        return key_of(self.item)


class Update(NamedTuple):
    """Set attributes (a None value removes one) and add to numbers (an absent one counts as 0).

    On a missing item whose condition holds, the item is made from the key and these attributes.
    """

    key: Key
    set: Mapping[str, Value | None] = NOTHING
    add: Mapping[str, int | float] = NOTHING
    condition: Condition | None = None
    failure: Exception | None = None


class Delete(NamedTuple):
    key: Key
    condition: Condition | None = None
    failure: Exception | None = None


class Check(NamedTuple):
    """No write: only the condition, on an item the transaction depends on.

    It belongs in `transact` alone: `write` takes none, as a Check writes nothing.
    """

    key: Key
    condition: Condition
    failure: Exception | None = None


Operation = Put | Update | Delete | Check


class ConditionFailed(Exception):
    """An operation's condition did not hold; nothing of its transaction was written."""

    def __init__(self, operation: Operation):
        super().__init__(f"condition failed on {operation.key}")
        self.operation = operation


def updated(item: Item | None, update: Update) -> Item:
    """The item after the update (the reference semantics of Update, for the drivers)."""
    result: Item = dict(item) if item is not None else {"PK": update.key[0], "SK": update.key[1]}
    for name, value in update.set.items():
        if value is None:
            result.pop(name, None)
        else:
            result[name] = value
    for name, amount in update.add.items():
        result[name] = result.get(name, 0) + amount  # type: ignore[operator]
    return result


def check_transaction(operations: Sequence[Operation]) -> list[Key]:
    """What every driver refuses alike: too many operations, or two on one key. The operations' keys, in order."""
    if len(operations) > MAX_TRANSACTION_ITEMS:
        raise ValueError(
            f"A transaction holds at most {MAX_TRANSACTION_ITEMS} operations; this one has {len(operations)}."
        )
    keys = [operation.key for operation in operations]
    if len(set(keys)) != len(keys):
        raise ValueError("A transaction operates on each item once.")
    return keys


@dataclass(frozen=True)
class Query:
    """A read of one partition's items: see ItemStore.query."""

    pk: str
    index: str | None = None
    prefix: str = ""
    after: str | None = None
    before: str | None = None
    descending: bool = False
    limit: int | None = None
    filter: Condition | None = None
    reads: int | None = None  # at most this many items read, kept by the filter or not


T = TypeVar("T")


class Found(list[T]):
    """What a query found; `stopped_at`, when its read bound ended it: the sort key of the last
    item read, which the next read of the range starts after (or before, descending). None when
    the read ended at the range's end or at the limit."""

    def __init__(self, found: Iterable[T] = (), stopped_at: str | None = None):
        super().__init__(found)
        self.stopped_at = stopped_at


def bounded(q: "Query", kept: list[Item], read: int, last: Item | None) -> "Found[Item]":
    """The result of a read that went through `read` items, `last` the last of them: cut short
    when the bound was reached with fewer than `limit` kept (the drivers' common rule)."""
    cut = q.reads is not None and read >= q.reads and last is not None and (q.limit is None or len(kept) < q.limit)
    sort_key = f"{q.index}SK" if q.index else "SK"
    return Found(kept, str(last[sort_key]) if cut and last is not None else None)


# --- The port -------------------------------------------------------------------------------------


class ItemStore(ABC):
    """One table of items, its sparse indexes and its TTL."""

    # Over how many items a counter that concurrent transactions add to is spread (repositories'
    # Funnels): one where writers are serialised anyway (SQLite); more where a transaction on an
    # item another is writing is refused (DynamoDB).
    write_shards = 1

    @abstractmethod
    def get(self, key: Key, *, consistent: bool = True) -> Item | None:
        """The item, as last written; with consistent=False, maybe as written a moment before
        (DynamoDB's eventually consistent read: half the capacity, for reads no decision follows)."""

    @abstractmethod
    def get_many(self, keys: Iterable[Key], *, consistent: bool = True) -> list[Item]:
        """The items of these keys that exist, in no particular order, in as few round trips as can
        be; consistent=False as for `get` (what a page shows beside its records)."""

    def query(
        self,
        pk: str,
        *,
        index: str | None = None,
        prefix: str = "",
        after: str | None = None,
        before: str | None = None,
        descending: bool = False,
        limit: int | None = None,
        filter: Condition | None = None,
        reads: int | None = None,
    ) -> "Found[Item]":
        """The items of one partition (of the table, or of an index), in sort-key order.

        The sort key starts with `prefix` and lies strictly between `after` and `before` (each
        optional). `filter` keeps only the items it holds of; reading goes on until `limit`
        items are kept, `reads` items are read (kept or not), or the range is exhausted.
        `descending` reads from the end. When `reads` ends it with fewer than `limit` kept, the
        result's `stopped_at` is the sort key of the last item read (even if none follows): a
        public search costs a bounded page, however few items match.
        """
        return self.select(Query(pk, index, prefix, after, before, descending, limit, filter, reads))

    @abstractmethod
    def select(self, query: "Query") -> "Found[Item]":
        """What `query` describes (the drivers implement this; callers use `query`)."""

    def select_many(self, queries: Sequence["Query"]) -> list["Found[Item]"]:
        """What each query describes, in the queries' order: the partitions of one list. A driver
        whose reads are round trips runs them side by side."""
        return [self.select(query) for query in queries]

    @abstractmethod
    def transact(self, operations: Sequence[Operation]) -> None:
        """All the operations or none (see check_transaction); ConditionFailed names the first
        whose condition does not hold. A collision with concurrent transactions that persists
        raises ConcurrencyError."""

    @abstractmethod
    def write(self, operation: Put | Update | Delete) -> Item | None:
        """One conditional write, at once: the item as it is after it (None after a delete)."""

    @abstractmethod
    def scan(self, kind: str) -> list[Item]:
        """Every item whose "type" is `kind`, in no order: a read of the whole table, for the
        maintenance commands (cli reindex) only, never for a request."""

    @abstractmethod
    def ping(self) -> None:
        """Raise Unavailable if the store cannot be reached."""
