"""The DynamoDB driver: the item store on one table, through PynamoDB's public TableConnection.

Not a PynamoDB Model: a generic store writes arbitrary top-level attributes, which a Model can
only hold by listing every entity's fields. The connection is given the table's schema (a
MetaTable built here), so no process spends a DescribeTable on learning it; values are
serialized here (str -> S, int/float -> N) and conditions built with PynamoDB's expressions.

Reads are strongly consistent wherever DynamoDB allows it (GetItem, BatchGetItem, base-table
Query; never on a GSI). A transaction is one TransactWriteItems with a ClientRequestToken, so
botocore's retries of it are idempotent; a transaction of one write is that write alone, whose
retry, failing the condition its own first try made false, is checked against the item. Every
PynamoDB and botocore error stays in here: a failed condition is ConditionFailed, a persisting
collision ConcurrencyError, anything else Unavailable.
"""

import logging
import math
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from decimal import Decimal
from functools import reduce
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.connection import TableConnection
from pynamodb.connection.base import MetaTable
from pynamodb.constants import ITEM
from pynamodb.exceptions import PynamoDBException, TableDoesNotExist, TransactWriteError
from pynamodb.expressions.condition import Condition as Expression
from pynamodb.expressions.operand import Path
from pynamodb.expressions.update import Action

from ...backoff import jittered
from ...domain.errors import ConcurrencyError, Unavailable
from .. import items
from ..items import Check, ConditionFailed, Delete, Found, Item, ItemStore, Key, Operation, Put, Query, Update, Value

log = logging.getLogger(__name__)

# --- The table ------------------------------------------------------------------------------------

INDEX_NAMES = items.INDEXES  # GSI1..GSI6: hash key GSI<n>PK, range key GSI<n>SK
TTL_ATTRIBUTE = "ttl"
BILLING_MODE = "PAY_PER_REQUEST"
STREAM_VIEW_TYPE = "NEW_AND_OLD_IMAGES"  # for the outbox relay's stream function

# The table (deploy/template.py builds the deployed one from this), in
# DescribeTable's shape, which is also what a MetaTable reads.
TABLE_SCHEMA: dict[str, Any] = {
    "AttributeDefinitions": [
        {"AttributeName": name, "AttributeType": "S"}
        for name in ("PK", "SK", *(f"{index}{part}" for index in INDEX_NAMES for part in ("PK", "SK")))
    ],
    "KeySchema": [{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
    "GlobalSecondaryIndexes": [
        {
            "IndexName": index,
            "KeySchema": [
                {"AttributeName": f"{index}PK", "KeyType": "HASH"},
                {"AttributeName": f"{index}SK", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        }
        for index in INDEX_NAMES
    ],
}

MAX_POOL_CONNECTIONS = 32  # the threads of one process share one client
BATCH_GET_KEYS = 100  # BatchGetItem's limit per call
UNPROCESSED_RETRIES = 8  # BatchGetItem calls for keys DynamoDB left unprocessed (throttled)
FILTERED_PAGE_SIZE = 100  # items read per Query page when a filter is on
PARALLEL_QUERIES = 8  # the partitions of one list read at once (select_many); the client's pool is larger
CONFLICT_RETRIES = 5  # a write cancelled only by a concurrent transaction is tried again
TABLE_WAIT_SECONDS = 300.0  # for a new table to become ACTIVE
MISSING_TABLE = "The DynamoDB table does not exist: run `python -m chalicelib.cli create-tables`."
# An Update with nothing to set still creates its missing item (as items.updated does), but
# DynamoDB wants an UpdateExpression: it removes this attribute, which no item has.
NOTHING = "ats:nothing"


# --- Values ---------------------------------------------------------------------------------------


def to_attribute(value: Value) -> dict[str, str]:
    """A value as DynamoDB's typed attribute: str -> S, int/float -> N (repr round-trips a float)."""
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, int) and not isinstance(value, bool):
        return {"N": str(value)}
    if isinstance(value, float) and math.isfinite(value):
        return {"N": repr(value)}
    raise ValueError(f"An item holds strings and finite numbers, not {value!r}.")


def _number(text: str) -> int | float:
    number = Decimal(text)
    return int(number) if number == number.to_integral_value() else float(number)


def from_attributes(attributes: Mapping[str, Mapping[str, Any]]) -> Item:
    """A DynamoDB item (typed attributes) as an item of the port: N as int when integral, else float."""
    item: Item = {}
    for name, typed in attributes.items():
        ((kind, raw),) = typed.items()
        if kind == "S":
            item[name] = raw
        elif kind == "N":
            item[name] = _number(raw)
        elif kind != "NULL":  # the store writes none: some other tool did
            log.warning("DynamoDB item attribute %s is of type %s", name, kind)
            raise Unavailable(f"Storage is unavailable: attribute {name} is of type {kind}")
    return item


def _typed_key(key: Key) -> dict[str, dict[str, str]]:
    return {"PK": {"S": key[0]}, "SK": {"S": key[1]}}


# --- Conditions and updates -----------------------------------------------------------------------


def _path(name: str) -> Path:
    return Path([name])  # a list: the name is one attribute, dots and all


_COMPARISONS: dict[str, Callable[[Path, dict[str, str]], Expression]] = {
    "=": lambda path, value: path == value,
    "<": lambda path, value: path < value,
    "<=": lambda path, value: path <= value,
    ">": lambda path, value: path > value,
    ">=": lambda path, value: path >= value,
}


def _never(name: str = "PK") -> Expression:
    return _path(name).exists() & _path(name).does_not_exist()


def expression(condition: items.Condition) -> Expression:
    """The port's condition as a PynamoDB condition expression (same semantics as items.holds)."""
    match condition:
        case items.Exists():
            return _path("PK").exists()
        case items.Missing():
            return _path("PK").does_not_exist()
        case items.Absent(name):
            return _path(name).does_not_exist()
        case items.Compare(name, "in", tuple() as values):
            return _path(name).is_in(*map(to_attribute, values)) if values else _never(name)
        case items.Compare(name, "contains", str() as text):
            return _path(name).contains({"S": text})
        case items.Compare(name, "begins", str() as text):
            return _path(name).startswith({"S": text})  # type: ignore[arg-type]  # typed, as contains takes it
        case items.Compare(name, op, str() | int() | float() as value):
            compared = _COMPARISONS[op](_path(name), to_attribute(value))
            if op == "=":
                return compared
            # An order between a string and a number is false on DynamoDB; the type test says so
            # first, where an emulator (moto) would fail comparing them.
            return _path(name).is_type("S" if isinstance(value, str) else "N") & compared
        case items.All(parts):
            if not parts:
                return _path("PK").exists() | _path("PK").does_not_exist()
            return reduce(lambda a, b: a & b, map(expression, parts))
        case items.AnyOf(parts):
            return reduce(lambda a, b: a | b, map(expression, parts)) if parts else _never()
    raise TypeError(f"not a condition: {condition!r}")


def _filter(condition: items.Condition) -> items.Condition | bool:
    """The condition on items that exist, folded: True/False where it no longer depends on the item.

    Every item a query reads exists, and a FilterExpression may not name a key attribute (as
    attribute_exists(PK) does), so Exists and Missing become constants here.
    """
    match condition:
        case items.Exists():
            return True
        case items.Missing() | items.Compare(_, "in", ()):
            return False
        case items.All(parts):
            return _fold(parts, items.All, identity=True)
        case items.AnyOf(parts):
            return _fold(parts, items.AnyOf, identity=False)
    return condition


def _fold(
    parts: Sequence[items.Condition], combine: Callable[[tuple], items.Condition], *, identity: bool
) -> items.Condition | bool:
    """All (identity True) or AnyOf (identity False) of the parts, folded: a part that is the
    opposite constant decides the whole, ones that are the identity are left out."""
    folded = [_filter(part) for part in parts]
    if any(part is (not identity) for part in folded):
        return not identity
    kept = tuple(part for part in folded if not isinstance(part, bool))
    return identity if not kept else kept[0] if len(kept) == 1 else combine(kept)


def _actions(update: Update) -> list[Action]:
    """The UpdateExpression's SET, REMOVE and ADD actions of an Update."""
    values = dict(update.set)
    for name, part in zip(("PK", "SK"), update.key, strict=True):  # the key is not an attribute to set
        if name in values and values.pop(name) != part:
            raise ValueError(f"An Update cannot change {name}.")
    adds = dict(update.add)
    for name in set(values) & set(adds):  # DynamoDB refuses two actions on one path: combine them
        base = values[name]
        if base is None:
            base = 0
        if isinstance(base, str):
            raise ValueError(f"Cannot add to the string attribute {name}.")
        values[name] = base + adds.pop(name)
    actions: list[Action] = [
        _path(name).remove() if value is None else _path(name).set(to_attribute(value))
        for name, value in values.items()
    ]
    actions += [_path(name).add(to_attribute(amount)) for name, amount in adds.items()]
    return actions or [_path(NOTHING).remove()]


def _page_size(q: Query, *, kept: int, read: int, filtered: bool, outside: int) -> int | None:
    """The Limit of a Query's next page: what the limit still wants (most of a page may not match a
    filter), within what the read bound still allows, plus the bounds a BETWEEN includes."""
    wanted = None if q.limit is None else max(q.limit, FILTERED_PAGE_SIZE) if filtered else q.limit - kept
    allowed = None if q.reads is None else q.reads - read
    sizes = [n for n in (wanted, allowed) if n is not None]
    return min(sizes) + outside if sizes else None


def _sort_key_range(
    name: str, prefix: str, after: str | None, before: str | None
) -> tuple[Expression | None, int] | None:
    """The sort-key condition of a Query, and how many items it matches at most that lie outside
    the range (bounds BETWEEN includes); None when the range is empty.

    DynamoDB takes one condition on the sort key, so a prefix with a bound is a BETWEEN from the
    lower bound to the first string past the prefix (both inclusive: the caller drops them).
    """
    sk = _path(name)
    if not prefix:
        if after is not None and before is not None:
            return (sk.between(after, before), 2) if after < before else None
        if after is not None:
            return sk > after, 0
        if before is not None:
            return sk < before, 0
        return None, 0
    if after is None and before is None:
        return sk.startswith(prefix), 0
    low, low_excluded = (after, 1) if after is not None and after >= prefix else (prefix, 0)
    high = _past(prefix)
    if before is not None and (high is None or before < high):
        high = before
    if high is None:
        return (sk > low if low_excluded else sk >= low), 0
    if low >= high:
        return None
    return sk.between(low, high), low_excluded + 1


def _past(prefix: str) -> str | None:
    """The least string above every string that starts with the prefix (None: there is none)."""
    for end in range(len(prefix) - 1, -1, -1):
        code = ord(prefix[end])
        if code < 0x10FFFF:
            following = 0xE000 if code == 0xD7FF else code + 1  # no surrogates: UTF-8 cannot carry them
            return prefix[:end] + chr(following)
    return None


# --- Errors ---------------------------------------------------------------------------------------


def _code(error: Exception) -> str | None:
    """The DynamoDB error code of a PynamoDB or botocore error, if it has one."""
    if isinstance(error, PynamoDBException):
        # Not error.cause_response_code: it fails on a cause whose `response` is None (a timeout).
        response = getattr(error.cause, "response", None)
        return response.get("Error", {}).get("Code") if isinstance(response, dict) else None
    if isinstance(error, ClientError):
        return error.response.get("Error", {}).get("Code")
    return None


def _reason(error: Exception) -> str:
    cause = error.cause if isinstance(error, PynamoDBException) else None
    return _code(error) or type(cause or error).__name__


@contextmanager
def _storage_errors() -> Iterator[None]:
    """Whatever DynamoDB or the way to it raises becomes Unavailable, with the reason logged."""
    try:
        yield
    except TableDoesNotExist as error:
        log.warning("DynamoDB call failed: ResourceNotFoundException (%s)", error)
        raise Unavailable(MISSING_TABLE) from error
    except (PynamoDBException, BotoCoreError, ClientError) as error:
        reason = _reason(error)
        log.warning("DynamoDB call failed: %s (%s)", reason, error)
        if reason == "ResourceNotFoundException":
            raise Unavailable(MISSING_TABLE) from error
        raise Unavailable(f"Storage is unavailable: {reason}") from error


class _Collision(Exception):
    """A transaction cancelled by concurrent ones, with no condition of ours failing."""


class _InProgress(Exception):
    """The transaction with our token is still running (a retry overtook the first try)."""


def _pause(attempt: int) -> None:
    time.sleep(jittered(attempt, base=0.01, cap=0.2, fixed=0.25))


# --- The driver -----------------------------------------------------------------------------------


class DynamoItemStore(ItemStore):
    """One table on DynamoDB (or DynamoDB Local, or moto); one per process, shared by its threads."""

    # A job's funnel counters on 8 items each (Funnels): at most 12 stages removed in one change
    # (each a Check per shard, with the job, under the 100 items of a transaction).
    write_shards = 8

    def __init__(
        self,
        table_name: str,
        *,
        region: str,
        endpoint: str | None,
        connect_timeout: float,
        read_timeout: float,
        max_retries: int,
    ):
        self.table_name = table_name
        self.table = TableConnection(
            table_name,
            region=region,
            host=endpoint,
            connect_timeout_seconds=connect_timeout,
            read_timeout_seconds=read_timeout,
            max_retry_attempts=max_retries,
            max_pool_connections=MAX_POOL_CONNECTIONS,
            meta_table=MetaTable({"TableName": table_name, **TABLE_SCHEMA}),
        )
        self._table_lock = threading.Lock()
        self._readers: ThreadPoolExecutor | None = None  # select_many's, made on first use
        self._readers_lock = threading.Lock()

    # The table.

    def create_table(self) -> bool:
        """Create the table unless it exists, and wait until it is ACTIVE; True if this call created it."""
        with self._table_lock, _storage_errors():
            created = False
            if self._describe() is None:
                try:
                    self.table.create_table(
                        attribute_definitions=TABLE_SCHEMA["AttributeDefinitions"],
                        key_schema=TABLE_SCHEMA["KeySchema"],
                        global_secondary_indexes=[
                            {"index_name": i["IndexName"], "key_schema": i["KeySchema"], "projection": i["Projection"]}
                            for i in TABLE_SCHEMA["GlobalSecondaryIndexes"]
                        ],
                        stream_specification={"stream_enabled": True, "stream_view_type": STREAM_VIEW_TYPE},
                        billing_mode=BILLING_MODE,
                    )
                    created = True
                except PynamoDBException as error:
                    if _code(error) != "ResourceInUseException":
                        raise
                    # Another process is creating it: wait for it, and make sure of its TTL below.
            self._wait_until_active()
            self._ensure_time_to_live()  # the creator too: a racer that found the table may have set it first
            return created

    def delete_table(self) -> None:
        """Delete the table if it exists."""
        with self._table_lock, _storage_errors():
            if self._describe() is not None:
                try:
                    self.table.delete_table()
                except PynamoDBException as error:
                    if _code(error) != "ResourceNotFoundException":  # someone else deleted it meanwhile
                        raise

    def _describe(self) -> dict | None:
        try:
            return self.table.describe_table()
        except TableDoesNotExist:
            return None

    def _wait_until_active(self) -> None:
        deadline = time.monotonic() + TABLE_WAIT_SECONDS
        while (self._describe() or {}).get("TableStatus") != "ACTIVE":
            if time.monotonic() > deadline:
                raise Unavailable(f"Storage is unavailable: the table {self.table_name} did not become ACTIVE")
            time.sleep(0.5)

    def _ensure_time_to_live(self) -> None:
        """TTL on the table unless it is on already (set by a racer, or by a creator that died before)."""
        try:
            self.table.update_time_to_live(TTL_ATTRIBUTE)
        except PynamoDBException as error:
            if _code(error) != "ValidationException":  # "TimeToLive is already enabled"
                raise

    # Reads.

    def get(self, key: Key, *, consistent: bool = True) -> Item | None:
        with _storage_errors():
            found = self.table.get_item(key[0], key[1], consistent_read=consistent).get("Item")
        return from_attributes(found) if found else None

    def get_many(self, keys: Iterable[Key], *, consistent: bool = True) -> list[Item]:
        unique = list(dict.fromkeys((str(pk), str(sk)) for pk, sk in keys))  # BatchGetItem refuses duplicates
        found: list[Item] = []
        with _storage_errors():
            for first in range(0, len(unique), BATCH_GET_KEYS):
                pending: list[Any] = [_typed_key(key) for key in unique[first : first + BATCH_GET_KEYS]]
                for attempt in range(UNPROCESSED_RETRIES + 1):
                    reply = self.table.batch_get_item(pending, consistent_read=consistent)
                    found += [from_attributes(item) for item in reply.get("Responses", {}).get(self.table_name, [])]
                    pending = reply.get("UnprocessedKeys", {}).get(self.table_name, {}).get("Keys", [])
                    if not pending:
                        break
                    if attempt == UNPROCESSED_RETRIES:
                        log.warning("DynamoDB left %d keys unprocessed after %d tries", len(pending), attempt + 1)
                        raise Unavailable("Storage is unavailable: UnprocessedKeys")
                    time.sleep(jittered(attempt, base=0.05, cap=1.0, fixed=0.5))
        return found

    def select_many(self, queries: Sequence[Query]) -> list[Found[Item]]:
        """The queries side by side, on a few threads of this store: a list of several partitions
        (a recruiter's jobs, an admin's applications by status) waits for one round trip, not one
        a partition. The threads end with the process; a Lambda's are idle between requests."""
        if len(queries) < 2:
            return super().select_many(queries)
        with self._readers_lock:
            if self._readers is None:
                self._readers = ThreadPoolExecutor(PARALLEL_QUERIES, thread_name_prefix="ats-dynamodb-query")
        return list(self._readers.map(self.select, queries))

    def select(self, q: Query) -> Found[Item]:
        if q.index is not None and q.index not in INDEX_NAMES:
            raise ValueError(f"No such q.index: {q.index}.")
        folded = True if q.filter is None else _filter(q.filter)
        sort_range = _sort_key_range(f"{q.index or ''}SK", q.prefix, q.after, q.before)
        if folded is False or sort_range is None or (q.limit is not None and q.limit <= 0):
            return Found()
        key_condition, outside = sort_range
        sort_key = f"{q.index or ''}SK"
        # DynamoDB's Limit counts the items it reads, the bounds a BETWEEN includes too: with a read
        # bound and such bounds, the filter runs here, so that only what is inside counts, as elsewhere.
        here = None if folded is True or not (q.reads is not None and outside) else folded
        server = None if folded is True or here is not None else folded

        def inside(item: Item) -> bool:
            value = str(item.get(sort_key, ""))
            above, below = q.after is None or value > q.after, q.before is None or value < q.before
            return value.startswith(q.prefix) and above and below

        found: list[Item] = []
        read, last = 0, None  # items of the range read so far, and the last of them
        start: Any = None
        with _storage_errors():
            while True:
                reply = self.table.query(
                    q.pk,
                    key_condition,
                    filter_condition=None if server is None else expression(server),
                    consistent_read=q.index is None,  # a GSI cannot be read consistently
                    exclusive_start_key=start,
                    index_name=q.index,
                    limit=_page_size(q, kept=len(found), read=read, filtered=folded is not True, outside=outside),
                    scan_index_forward=not q.descending,
                )
                for raw in reply.get("Items", []):
                    item = from_attributes(raw)
                    if not inside(item):
                        continue
                    if server is None:  # every item read comes back: count them here
                        read, last = read + 1, item
                    if here is None or items.holds(here, item):
                        found.append(item)
                        if len(found) == q.limit:
                            return Found(found)
                    if server is None and read == q.reads:
                        return items.bounded(q, found, read, last)
                start = reply.get("LastEvaluatedKey")
                if server is not None and q.reads is not None:  # DynamoDB counted what it filtered out
                    read += int(reply.get("ScannedCount", 0))
                    if read >= q.reads:
                        return Found(found, str(from_attributes(start)[sort_key]) if start else None)
                if not start:
                    return Found(found)

    # Writes.

    def transact(self, operations: Sequence[Operation]) -> None:
        items.check_transaction(operations)
        requests: list[tuple[Operation, dict]] = []
        for operation in operations:
            request = self._request(operation)
            if request is not None:
                requests.append((operation, request))
        if not requests:
            return
        if len(requests) == 1 and not isinstance(requests[0][0], Check):
            # One write alone is that write (a conditional Put, Update or Delete): half the
            # capacity of TransactWriteItems, the same outcome.
            self.write(requests[0][0])
            return
        token = uuid.uuid4().hex  # the same token on botocore's retries makes them idempotent
        for attempt in range(CONFLICT_RETRIES + 1):
            try:
                with _storage_errors():
                    try:
                        self.table.connection.transact_write_items(
                            condition_check_items=[r for o, r in requests if isinstance(o, Check)],
                            delete_items=[r for o, r in requests if isinstance(o, Delete)],
                            put_items=[r for o, r in requests if isinstance(o, Put)],
                            update_items=[r for o, r in requests if isinstance(o, Update)],
                            client_request_token=token,
                        )
                        return
                    except TransactWriteError as error:
                        self._settle(error, operations)
            except _Collision:
                token = uuid.uuid4().hex  # cancelled, nothing applied: a new request
            except _InProgress:
                pass  # the same request is still running: ask again with its token, for its outcome
            if attempt < CONFLICT_RETRIES:
                _pause(attempt)
        log.warning("DynamoDB transaction collided %d times; giving up", CONFLICT_RETRIES + 1)
        raise ConcurrencyError("The change collided with another one; try again.")

    def _request(self, operation: Operation) -> dict | None:
        """One item of TransactWriteItems (None: a Check without a condition checks nothing)."""
        pk, sk = operation.key
        condition = None if operation.condition is None else expression(operation.condition)
        if isinstance(operation, Put):
            return self.table.get_operation_kwargs(
                pk, sk, key=ITEM, attributes=_attributes(operation.item), condition=condition
            )
        if isinstance(operation, Update):
            return self.table.get_operation_kwargs(pk, sk, actions=_actions(operation), condition=condition)
        if isinstance(operation, Check) and condition is None:
            return None
        return self.table.get_operation_kwargs(pk, sk, condition=condition)

    def _settle(self, error: TransactWriteError, operations: Sequence[Operation]) -> None:
        """Raise what a cancelled transaction means: ConditionFailed, _Collision, or the error itself.

        The cancellation reasons follow the order PynamoDB sends the operations in (grouped by
        kind), not the caller's; so a failed condition is found by reading the conditioned items
        again and asking items.holds which operation, first in the caller's order, fails now.
        """
        codes = {reason.code for reason in error.cancellation_reasons if reason is not None}
        if "ConditionalCheckFailed" in codes:
            conditioned = [operation for operation in operations if operation.condition is not None]
            current = {items.key_of(item): item for item in self.get_many(op.key for op in conditioned)}
            for operation in conditioned:
                if not items.holds(operation.condition, current.get(operation.key)):
                    raise ConditionFailed(operation) from None
            raise _Collision()  # the state moved on since: try again
        if "TransactionConflict" in codes or _code(error) == "TransactionConflictException":
            raise _Collision()
        if _code(error) == "TransactionInProgressException":
            raise _InProgress()
        raise error

    def write(self, operation: Put | Update | Delete) -> Item | None:
        pk, sk = operation.key
        condition = None if operation.condition is None else expression(operation.condition)
        for attempt in range(CONFLICT_RETRIES + 1):
            try:
                with _storage_errors():
                    try:
                        if isinstance(operation, Put):
                            self.table.put_item(pk, sk, attributes=_attributes(operation.item), condition=condition)
                            return {name: value for name, value in operation.item.items() if value is not None}
                        if isinstance(operation, Update):
                            reply = self.table.update_item(
                                pk, sk, actions=_actions(operation), condition=condition, return_values="ALL_NEW"
                            )
                            return from_attributes(reply["Attributes"])
                        if isinstance(operation, Delete):
                            self.table.delete_item(pk, sk, condition=condition)
                            return None
                        raise ValueError(f"write takes a Put, Update or Delete, not {operation!r}.")
                    except PynamoDBException as error:
                        if _code(error) == "ConditionalCheckFailedException":
                            if _retried(error) and _applied(operation, current := self.get(operation.key)):
                                return current  # its first try landed
                            raise ConditionFailed(operation) from None
                        if _code(error) == "TransactionConflictException":  # an item in a transaction
                            raise _Collision() from None
                        raise
            except _Collision:
                if attempt < CONFLICT_RETRIES:
                    _pause(attempt)
        raise ConcurrencyError("The change collided with another one; try again.")

    def scan(self, kind: str) -> list[Item]:
        found: list[Item] = []
        start: Any = None
        with _storage_errors():
            while True:
                reply = self.table.scan(
                    filter_condition=_path("type") == {"S": kind}, exclusive_start_key=start, consistent_read=True
                )
                found.extend(from_attributes(raw) for raw in reply.get("Items", []))
                start = reply.get("LastEvaluatedKey")
                if not start:
                    return found

    def ping(self) -> None:
        with _storage_errors():
            self.table.get_item("PING", "PING", consistent_read=True)


def _retried(error: PynamoDBException) -> bool:
    """Whether botocore sent the request more than once (a lost reply, a timeout, a 5xx): botocore's
    own error, which PynamoDB's carries as its cause, counts the retries."""
    botocore_error = getattr(error.cause, "__cause__", None)
    response = getattr(botocore_error, "response", None)
    metadata = response.get("ResponseMetadata", {}) if isinstance(response, dict) else {}
    return bool(metadata.get("RetryAttempts"))


def _applied(operation: Put | Update | Delete, current: Item | None) -> bool:
    """Whether the item is as the write leaves it: a retried write whose first try landed fails
    its own condition (a write alone has no token to make its retries idempotent, as a
    transaction has), and is no failure. An addition cannot be told from another one."""
    if isinstance(operation, Delete):
        return current is None
    if current is None:
        return False
    if isinstance(operation, Put):
        return current == {name: value for name, value in operation.item.items() if value is not None}
    return not operation.add and all(current.get(name) == value for name, value in operation.set.items())


def _attributes(item: Mapping[str, Value | None]) -> dict[str, dict[str, str]]:
    """A whole item's typed attributes (a None value is an absent attribute)."""
    return {name: to_attribute(value) for name, value in item.items() if value is not None}
