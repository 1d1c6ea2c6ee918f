"""The SQLite driver of the item store (stdlib sqlite3): one table of items, a JSON document each.

`doc` holds the whole item, so a read loads one column; the key, index-key and ttl columns are
copies of its attributes, there for lookups: the primary key serves the table's partitions, one
partial index per GSI serves that index (only the items in it are in it), one on ttl the sweep.
WAL, synchronous=NORMAL, one connection per thread, autocommit reads. A transaction is one
`BEGIN IMMEDIATE`, so writers queue on SQLite's lock (10 s) instead of colliding. A single write
(`write`) is one autocommit statement: a compare-and-swap on the document it read, tried again if
another writer changed it in between; so the stores that write at once (the delivery ledger, the
counters) take SQLite's lock for one statement, not for a read and a write.

The schema is versioned by `PRAGMA user_version`: 1..5 were the per-entity tables of
chalicelib/storage/sqlite.py, 6 is the items table. A database at 1..5 is migrated in place on
first open, in one transaction: every old row becomes the item(s) DynamoDB holds for it.
"""

import functools
import math
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from typing import TypeVar

import orjson

from ...domain.errors import Unavailable
from ..items import (
    INDEXES,
    Check,
    ConditionFailed,
    Delete,
    Found,
    Item,
    ItemStore,
    Key,
    Missing,
    Operation,
    Put,
    Query,
    Update,
    bounded,
    check_transaction,
    holds,
    key_of,
    updated,
)

T = TypeVar("T")

SCHEMA_VERSION = 7
BUSY_TIMEOUT = 10.0  # seconds a writer waits for the lock before the store counts as unavailable
SWEEP_INTERVAL = 60.0  # seconds between two deletions of expired items, per database
GET_MANY_CHUNK = 250  # keys per SELECT (two parameters each, far below SQLite's limit)

_INDEX_COLUMNS = tuple((f"{index.lower()}pk", f"{index.lower()}sk") for index in INDEXES)
_COLUMNS = ("pk", "sk", *(column for pair in _INDEX_COLUMNS for column in pair), "ttl", "doc")
_INDEX_ATTRIBUTE_COLUMNS = tuple(  # (GSI<n>PK, GSI<n>SK, gsi<n>pk, gsi<n>sk)
    (f"{index}PK", f"{index}SK", *columns) for index, columns in zip(INDEXES, _INDEX_COLUMNS, strict=True)
)
_LOOKUP_ATTRIBUTES = frozenset([*(f"{index}PK" for index in INDEXES), "ttl"])
_SORT_COLUMNS: dict[str | None, tuple[str, str]] = {
    None: ("pk", "sk"),
    **dict(zip(INDEXES, _INDEX_COLUMNS, strict=True)),
}

# A rowid table with the key as a unique index (schema 7), not a table clustered on its key
# (WITHOUT ROWID, schema 6): a commit's new documents go side by side at the table's end instead
# of into the pages of their keys. Pages a commit writes: an apply 21 -> 19, a status change
# 17 -> 13, a new job 9 -> 7.
_INDEX_NAMES = ("items_key", *(f"items_{index.lower()}" for index in INDEXES), "items_ttl")
SCHEMA = [
    "CREATE TABLE items ("
    "pk TEXT NOT NULL, sk TEXT NOT NULL, "
    + "".join(f"{pk} TEXT, {sk} TEXT, " for pk, sk in _INDEX_COLUMNS)
    + "ttl REAL, doc TEXT NOT NULL)",
    "CREATE UNIQUE INDEX items_key ON items(pk, sk)",
    # pk, sk: entries of one index sort key in the item keys' order, straight from the index
    *(
        f"CREATE INDEX items_{index.lower()} ON items({pk}, {sk}, pk, sk) WHERE {pk} IS NOT NULL"
        for index, (pk, sk) in zip(INDEXES, _INDEX_COLUMNS, strict=True)
    ),
    "CREATE INDEX items_ttl ON items(ttl) WHERE ttl IS NOT NULL",
]

_GET = "SELECT doc FROM items WHERE pk = ? AND sk = ?"
_DELETE = "DELETE FROM items WHERE pk = ? AND sk = ?"
_DELETE_READ = "DELETE FROM items WHERE pk = ? AND sk = ? AND doc = ?"  # only over the document read
SWAP_ATTEMPTS = 100  # reads of an item other writers keep changing, before the store gives up
_SWEEP = "DELETE FROM items WHERE ttl <= ?"

_decode = orjson.loads  # a list page decodes a document per item: orjson is 2.5x json's speed here


def _encode(item: Item) -> str:
    return orjson.dumps(item).decode()  # and 15x json's in a write


@functools.cache  # a few counts, again and again (a transaction's reads, a page's records)
def _get_many_sql(count: int) -> str:
    # Keys drive the join (CROSS JOIN keeps that order): one primary-key search per key.
    # `(pk, sk) IN (VALUES ...)` would scan the whole table instead.
    return (
        f"SELECT doc FROM (VALUES {', '.join(['(?, ?)'] * count)}) AS wanted "
        "CROSS JOIN items ON items.pk = wanted.column1 AND items.sk = wanted.column2"
    )


def _unavailable(error: Exception) -> Unavailable:
    return Unavailable(f"Storage is unavailable: {error}")


# A row binds only the columns that hold a value; the others are left out, or set to a NULL
# written in the SQL: sqlite3 binds a None only after looking for an adapter and a __conform__
# that fail (an AttributeError made and dropped each time), about 3k instructions a None, and an
# item has up to 13 empty columns (an apply wrote 38 Nones, a tenth of its cost).


def _row(item: Item) -> dict[str, object]:
    """The item's columns that hold a value, by name: its keys and its lookups, then itself."""
    row = _lookups(item)
    row["doc"] = _encode(item)
    return row


def _lookups(item: Item) -> dict[str, object]:
    """The columns that find the item and hold a value: its keys, its index keys (both or neither), its ttl."""
    pk, sk = item.get("PK"), item.get("SK")
    if not isinstance(pk, str) or not isinstance(sk, str):
        raise ValueError(f"An item's PK and SK are strings: {pk!r}, {sk!r}")
    row: dict[str, object] = {"pk": pk, "sk": sk}
    if _LOOKUP_ATTRIBUTES.isdisjoint(item):  # most items are in no index and never expire: one test
        return row
    for pk_name, sk_name, pk_column, sk_column in _INDEX_ATTRIBUTE_COLUMNS:
        if pk_name not in item:
            continue
        index_pk, index_sk = _index_entry(item[pk_name], item.get(sk_name))
        if index_pk is not None:
            row[pk_column], row[sk_column] = index_pk, index_sk
    ttl = _expiry(item.get("ttl"))
    if ttl is not None:
        row["ttl"] = ttl
    return row


def _index_entry(index_pk: object, index_sk: object) -> tuple[object, object]:
    """An index's columns of an item with these index keys: as on DynamoDB, an item without both
    (as strings) is not in the index."""
    return (index_pk, index_sk) if isinstance(index_pk, str) and isinstance(index_sk, str) else (None, None)


def _expiry(ttl: object) -> object:
    """The ttl column of an item with this ttl: a number, or nothing."""
    return ttl if isinstance(ttl, int | float) and not isinstance(ttl, bool) else None


@functools.cache
def _insert_new_sql(columns: tuple[str, ...]) -> str:
    """The INSERT of a row of these columns, only if its key is free."""
    values = f"({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    return f"INSERT INTO items {values} ON CONFLICT (pk, sk) DO NOTHING"


@functools.lru_cache(maxsize=256)  # as many as the connection's statements
def _replace_sql(rows: tuple[tuple[str, ...], ...]) -> str:
    """The INSERT OR REPLACE of rows of these columns each (as _row names them, in _COLUMNS' order):
    a NULL written for the columns a row has not."""
    values = ", ".join(f"({', '.join('?' if column in row else 'NULL' for column in _COLUMNS)})" for row in rows)
    return f"INSERT OR REPLACE INTO items ({', '.join(_COLUMNS)}) VALUES {values}"


def _replace(conn: sqlite3.Connection, rows: list[dict[str, object]]) -> None:
    """Write the items of these rows (_row's) in one statement, each over any item of its key."""
    conn.execute(_replace_sql(tuple(tuple(row) for row in rows)), [value for row in rows for value in row.values()])


def _insert(conn: sqlite3.Connection, item: Item) -> bool:
    """Write the item if its key is free; True if it was written."""
    row = _row(item)
    return conn.execute(_insert_new_sql(tuple(row)), tuple(row.values())).rowcount == 1


def _overwrite(conn: sqlite3.Connection, current: Item, new: Item, *, read: str | None = None) -> bool:
    """Write `new` over the stored `current`, setting only the columns that change: SQLite then
    updates only the indexes on those (a status change moves 3 of an application's 6 index
    entries; INSERT OR REPLACE would delete and insert all 6). With `read`, only over that very
    document (a compare-and-swap: SQLite compares TEXT byte by byte). True if it was written."""
    assignments, parameters = [], []
    # most items are in no index and never expire, before and after: only their document changes
    if not (_LOOKUP_ATTRIBUTES.isdisjoint(current) and _LOOKUP_ATTRIBUTES.isdisjoint(new)):
        for column, value in _changed_lookups(current, new):
            assignments.append(f"{column} = NULL, " if value is None else f"{column} = ?, ")
            if value is not None:
                parameters.append(value)
    sql = f"UPDATE items SET {''.join(assignments)}doc = ? WHERE pk = ? AND sk = ?"
    parameters += (_encode(new), current["PK"], current["SK"])
    if read is not None:
        sql += " AND doc = ?"
        parameters.append(read)
    return conn.execute(sql, parameters).rowcount == 1


def _changed_lookups(current: Item, new: Item) -> list[tuple[str, object]]:
    """The columns of `_lookups` that differ from `current` to `new`, each with its new value (None:
    emptied), in the table's order; from the attributes, without making both rows (an application's
    status change: 36k instructions -> 16k)."""
    changed: list[tuple[str, object]] = []
    for pk_name, sk_name, pk_column, sk_column in _INDEX_ATTRIBUTE_COLUMNS:
        keys_before, keys_after = (current.get(pk_name), current.get(sk_name)), (new.get(pk_name), new.get(sk_name))
        if keys_before != keys_after:  # equal index keys make equal columns
            (pk_before, sk_before), (pk_after, sk_after) = _index_entry(*keys_before), _index_entry(*keys_after)
            if pk_after != pk_before:
                changed.append((pk_column, pk_after))
            if sk_after != sk_before:
                changed.append((sk_column, sk_after))
    ttl_after = _expiry(new.get("ttl"))
    if ttl_after != _expiry(current.get("ttl")):
        changed.append(("ttl", ttl_after))
    return changed


def _successor(prefix: str) -> str | None:
    """The least string above every string that starts with `prefix`; None when there is none.

    SQLite compares TEXT as UTF-8 bytes, which is code-point order, Python's and DynamoDB's.
    """
    stem = prefix.rstrip("\U0010ffff")
    if not stem:
        return None
    following = ord(stem[-1]) + 1
    if 0xD800 <= following <= 0xDFFF:  # surrogates are not characters: no stored text has them
        following = 0xE000
    return stem[:-1] + chr(following)


def query_sql(
    index: str | None,
    *,
    prefix: str = "",
    after: str | None = None,
    before: str | None = None,
    descending: bool = False,
    limited: bool = False,
) -> tuple[str, list[str]]:
    """The SELECT of one partition's range, in sort-key order, and its parameters after the partition.

    The partition is an equality and the range bounds the sort-key column, so SQLite searches the
    primary key or the index's partial index; a limited query ends with `LIMIT ?` (for the caller).
    """
    if index not in _SORT_COLUMNS:
        raise ValueError(f"Unknown index {index!r}: one of {', '.join(INDEXES)}, or None for the table.")
    pk, sk = _SORT_COLUMNS[index]
    where, params = [f"{pk} = ?"], []
    if prefix:
        where.append(f"{sk} >= ?")
        params.append(prefix)
        upper = _successor(prefix)
        if upper is not None:
            where.append(f"{sk} < ?")
            params.append(upper)
    if after is not None:
        where.append(f"{sk} > ?")
        params.append(after)
    if before is not None:
        where.append(f"{sk} < ?")
        params.append(before)
    direction = " DESC" if descending else ""
    # Index entries of one sort key are told apart by the item's key (the memory driver's order).
    order = f"{sk}{direction}" if index is None else f"{sk}{direction}, pk{direction}, sk{direction}"
    sql = f"SELECT doc FROM items WHERE {' AND '.join(where)} ORDER BY {order}"
    return (sql + " LIMIT ?" if limited else sql), params


def _checked(operation: Operation) -> None:
    """Refuse what DynamoDB refuses before it writes anything: keys that are not strings, an update of one."""
    if isinstance(operation, Update) and (
        "PK" in operation.set or "SK" in operation.set or "PK" in operation.add or "SK" in operation.add
    ):
        raise ValueError(f"An update does not change the key attributes PK and SK: {operation.key}")
    if isinstance(operation, Put) and not (
        isinstance(operation.item.get("PK"), str) and isinstance(operation.item.get("SK"), str)
    ):
        raise ValueError(f"An item's PK and SK are strings: {operation.item.get('PK')!r}, {operation.item.get('SK')!r}")


class SqliteItemStore(ItemStore):
    """The items of one SQLite file; safe to share between threads (each gets its own connection)."""

    clock = staticmethod(time.time)  # the sweep's time; tests move it

    def __init__(self, path: str):
        self.path = os.path.abspath(path)
        self._local = threading.local()
        self._swept_at = -math.inf  # when the expired items were last deleted
        self._swept_lock = threading.Lock()
        try:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
        except OSError as error:
            raise _unavailable(error) from error
        try:
            conn = self._connection()
            # Once per file (it is the file's mode from then on), not per connection: a connection
            # opened while others write would wait on no busy handler to change it.
            conn.execute("PRAGMA journal_mode=WAL")
            _migrate(conn)
        except sqlite3.Error as error:
            self.close()
            raise _unavailable(error) from error
        except BaseException:
            self.close()
            raise

    # --- Connections ------------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(
                    self.path,
                    isolation_level=None,
                    timeout=BUSY_TIMEOUT,
                    cached_statements=256,
                )
                conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across app crashes
            except sqlite3.Error as error:
                raise _unavailable(error) from error
            self._local.conn = conn
        return conn

    def close(self) -> None:
        """Close this thread's connection (another thread's closes when that thread ends)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            self._local.conn = None
            conn.close()

    # --- Reads ------------------------------------------------------------------------------------

    def get(self, key: Key, *, consistent: bool = True) -> Item | None:  # one file: always consistent
        try:
            row = self._connection().execute(_GET, key).fetchone()
        except sqlite3.Error as error:
            raise _unavailable(error) from error
        return None if row is None else _decode(row[0])

    def get_many(self, keys: Iterable[Key], *, consistent: bool = True) -> list[Item]:  # always consistent
        wanted = list(dict.fromkeys((str(pk), str(sk)) for pk, sk in keys))
        found: list[Item] = []
        try:
            conn = self._connection()
            for first in range(0, len(wanted), GET_MANY_CHUNK):
                chunk = wanted[first : first + GET_MANY_CHUNK]
                rows = conn.execute(_get_many_sql(len(chunk)), [part for key in chunk for part in key]).fetchall()
                found.extend(_decode(row[0]) for row in rows)
        except sqlite3.Error as error:
            raise _unavailable(error) from error
        return found

    def select(self, q: Query) -> Found[Item]:
        if q.limit is not None and q.limit <= 0:
            return Found()
        bounds = [n for n in (q.limit, q.reads) if n is not None]
        sql, params = query_sql(
            q.index,
            prefix=q.prefix,
            after=q.after,
            before=q.before,
            descending=q.descending,
            limited=q.filter is None and bool(bounds),
        )
        try:
            conn = self._connection()
            if q.filter is None:
                rows = conn.execute(sql, [q.pk, *params, min(bounds)] if bounds else [q.pk, *params]).fetchall()
                found = [_decode(row[0]) for row in rows]
                return bounded(q, found, len(found), found[-1] if found else None)
            # A filter runs here, on the rows in sort order, from one statement (one snapshot) that
            # SQLite steps a row at a time: the read ends with the `limit`-th kept row (or the
            # `reads`-th row read), not after it (a batch of 100 would step, and look up, up to 99
            # rows more).
            kept: list[Item] = []
            read, item = 0, None
            cursor = conn.execute(sql, [q.pk, *params])
            try:
                for row in cursor:
                    read, item = read + 1, _decode(row[0])
                    if holds(q.filter, item):
                        kept.append(item)
                        if len(kept) == q.limit:
                            break
                    if read == q.reads:
                        break
            finally:
                cursor.close()  # ends the statement's read of the database at once
            return bounded(q, kept, read, item)
        except sqlite3.Error as error:
            raise _unavailable(error) from error

    # --- Writes -----------------------------------------------------------------------------------

    def transact(self, operations: Sequence[Operation]) -> None:
        keys = check_transaction(operations)
        for operation in operations:
            _checked(operation)
        if operations:
            self._in_transaction(lambda conn: _apply_all(conn, operations, keys))

    def write(self, operation: Put | Update | Delete) -> Item | None:
        if isinstance(operation, Check):
            raise ValueError("write applies a Put, an Update or a Delete; a Check belongs in a transaction.")
        _checked(operation)
        self._sweep()
        try:
            return _write_at_once(self._connection(), operation)
        except sqlite3.Error as error:
            raise _unavailable(error) from error

    def _in_transaction(self, work: Callable[[sqlite3.Connection], T]) -> T:
        conn = self._connection()
        try:
            conn.execute("BEGIN IMMEDIATE")  # waits up to BUSY_TIMEOUT for the other writers
        except sqlite3.Error as error:
            raise _unavailable(error) from error
        try:
            result = work(conn)
            conn.execute("COMMIT")
            return result
        except BaseException as error:
            _rollback(conn)
            if isinstance(error, sqlite3.Error):
                raise _unavailable(error) from error
            raise

    def _sweep(self) -> None:
        """Delete the expired items, at most once a SWEEP_INTERVAL per database (a ttl index range)."""
        now = self.clock()
        with self._swept_lock:
            if self._swept_at + SWEEP_INTERVAL > now:
                return
            self._swept_at = now
        try:
            self._connection().execute(_SWEEP, (now,))  # autocommit: its own short transaction
        except sqlite3.Error as error:
            raise _unavailable(error) from error

    def scan(self, kind: str) -> list[Item]:
        try:
            rows = self._connection().execute("SELECT doc FROM items WHERE doc ->> '$.type' = ?", (kind,)).fetchall()
        except sqlite3.Error as error:
            raise _unavailable(error) from error
        return [_decode(row[0]) for row in rows]

    def ping(self) -> None:
        try:
            self._connection().execute("SELECT 1").fetchone()
        except sqlite3.Error as error:
            raise _unavailable(error) from error


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        with suppress(sqlite3.Error):  # SQLite may have rolled back already (it does on some errors)
            conn.execute("ROLLBACK")


def _stored(conn: sqlite3.Connection, keys: list[Key]) -> dict[Key, Item]:
    """The items of these keys that exist, by key, in one statement (a transaction's conditions
    are all read at once: a statement costs more than the rows it reads)."""
    if len(keys) == 1:
        rows = conn.execute(_GET, keys[0]).fetchall()
    else:
        rows = conn.execute(_get_many_sql(len(keys)), [part for key in keys for part in key]).fetchall()
    items = [_decode(row[0]) for row in rows]
    return {key_of(item): item for item in items}


def _present(item: Item) -> Item:
    """The item without its attributes that have no value (they are absent)."""
    return {name: value for name, value in item.items() if value is not None} if None in item.values() else item


def _write_at_once(conn: sqlite3.Connection, operation: Put | Update | Delete) -> Item | None:
    """One autocommit statement, decided on the item as read: what it writes replaces that very
    document, or nothing; when another writer came in between, read again and decide again."""
    if isinstance(operation, Put) and operation.condition is None:
        item = _present(operation.item)
        _replace(conn, [_row(item)])
        return dict(item)
    if isinstance(operation, Put) and isinstance(operation.condition, Missing):
        item = _present(operation.item)
        if not _insert(conn, item):  # the key is taken: no read needed
            raise ConditionFailed(operation)
        return dict(item)
    if isinstance(operation, Delete) and operation.condition is None:
        conn.execute(_DELETE, operation.key)
        return None
    for _ in range(SWAP_ATTEMPTS):
        row = conn.execute(_GET, operation.key).fetchone()
        current = None if row is None else _decode(row[0])
        if not holds(operation.condition, current):
            raise ConditionFailed(operation)
        if isinstance(operation, Put):
            result: Item | None = _present(operation.item)
        elif isinstance(operation, Update):
            result = _updated(current, operation)
        else:
            result = None
        if current is None:
            if result is None or _insert(conn, result):
                return None if result is None else dict(result)
        elif result is None:
            if conn.execute(_DELETE_READ, (*operation.key, row[0])).rowcount == 1:
                return None
        elif _overwrite(conn, current, result, read=row[0]):
            return dict(result)
    raise Unavailable("Storage is unavailable: an item kept changing under a write; try again.")


def _updated(current: Item | None, operation: Update) -> Item:
    try:
        return updated(current, operation)
    except TypeError as error:  # adding to an attribute that is not a number
        raise ValueError(f"Update of {operation.key}: {error}") from None


def _apply_all(conn: sqlite3.Connection, operations: Sequence[Operation], keys: list[Key]) -> None:
    """Check each operation's condition and write it, inside the caller's transaction.

    Every condition is decided on its item as it was before the transaction, read for all of
    them at once (a Missing() too: the key free as read stays free under the transaction's
    lock), in the caller's order, so the first that fails is the one named. The items new to
    their keys are written last, in one statement.
    """
    pairs = list(zip(operations, keys, strict=True))
    read = [key for operation, key in pairs if operation.condition is not None or isinstance(operation, Update)]
    stored = _stored(conn, read) if read else {}
    new: list[dict[str, object]] = []  # the rows of the items new to their keys
    for operation, key in pairs:
        current = stored.get(key)
        if not holds(operation.condition, current):
            raise ConditionFailed(operation)
        if isinstance(operation, Check):
            continue
        if isinstance(operation, Delete):
            conn.execute(_DELETE, key)
            continue
        item = _present(operation.item) if isinstance(operation, Put) else _updated(current, operation)
        if current is None:  # or not read: an unconditional Put replaces what its key holds
            new.append(_row(item))
        else:
            _overwrite(conn, current, item)
    if new:
        _replace(conn, new)


# --- The schema and its migrations --------------------------------------------------------------

# Versions 1..5 were the per-entity tables (storage/legacy.py); 6 the items table clustered on
# its key; 7 the items table as it is (SCHEMA).


def _migrate(conn: sqlite3.Connection) -> None:
    """Bring the database to SCHEMA_VERSION, in one transaction (a no-op when it is there)."""
    try:
        conn.execute("BEGIN IMMEDIATE")  # two processes opening one old file: the second finds it done
    except sqlite3.Error as error:
        raise _unavailable(error) from error
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise Unavailable(
                f"Storage is unavailable: the database is at schema version {version}, "
                f"newer than this code's {SCHEMA_VERSION}."
            )
        if version < SCHEMA_VERSION:  # a database at the version is left as it is: nothing written
            if version == 6:
                _recreate_items(conn)
            else:
                if version > 0:  # an old database: only then are the old schemas loaded (a cold start skips them)
                    from ..legacy import LEGACY_MIGRATIONS

                    for script in LEGACY_MIGRATIONS[version:]:
                        for statement in filter(str.strip, script.split(";")):
                            conn.execute(statement)
                for statement in SCHEMA:
                    conn.execute(statement)
                if version > 0:
                    _convert_legacy_rows(conn)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException as error:
        _rollback(conn)
        if isinstance(error, sqlite3.Error):
            raise _unavailable(error) from error
        raise


def _recreate_items(conn: sqlite3.Connection) -> None:
    """Version 6 to 7: the same rows in the items table of SCHEMA (the indexes are named alike)."""
    for name in _INDEX_NAMES:
        conn.execute(f"DROP INDEX IF EXISTS {name}")
    conn.execute("ALTER TABLE items RENAME TO items_6")
    for statement in SCHEMA:
        conn.execute(statement)
    columns = ", ".join(_COLUMNS)
    conn.execute(f"INSERT INTO items ({columns}) SELECT {columns} FROM items_6")
    conn.execute("DROP TABLE items_6")


def _convert_legacy_rows(conn: sqlite3.Connection) -> None:
    """Every row of the per-entity tables as the item(s) it is now; then drop those tables."""
    from ..legacy import LEGACY_TABLES, legacy_items

    # One statement for every row (executemany): every column bound, the empty ones to None.
    conn.executemany(
        f"INSERT INTO items ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})",  # a clash: loud
        ([row.get(column) for column in _COLUMNS] for row in map(_row, legacy_items(conn))),
    )
    for table in LEGACY_TABLES:
        conn.execute(f"DROP TABLE {table}")
