"""The memory driver: the item store as a dict, for the service tests and as the port's reference.

Everything under one lock, so each transaction and each write is atomic, as in a database; items
are copied in and out, so changing what a read returned changes nothing stored.
"""

import threading
from collections.abc import Iterable, Sequence

from .. import items
from ..items import Found, Item, ItemStore, Key, Operation, Query


class MemoryItemStore(ItemStore):
    write_shards = 3  # as if sharded, so the unit tests go through the sums of shards

    def __init__(self) -> None:
        self.items: dict[Key, Item] = {}
        self._lock = threading.Lock()

    def get(self, key: Key, *, consistent: bool = True) -> Item | None:
        with self._lock:
            item = self.items.get(key)
            return None if item is None else dict(item)

    def get_many(self, keys: Iterable[Key], *, consistent: bool = True) -> list[Item]:
        with self._lock:
            return [dict(self.items[key]) for key in set(keys) if key in self.items]

    def select(self, q: Query) -> Found[Item]:
        pk_name, sk_name = (f"{q.index}PK", f"{q.index}SK") if q.index else ("PK", "SK")
        with self._lock:
            in_range = [
                dict(item)
                for item in self.items.values()
                if item.get(pk_name) == q.pk
                and sk_name in item
                and str(item[sk_name]).startswith(q.prefix)
                and (q.after is None or str(item[sk_name]) > q.after)
                and (q.before is None or str(item[sk_name]) < q.before)
            ]
        in_range.sort(key=lambda item: (str(item[sk_name]), items.key_of(item)), reverse=q.descending)
        kept: list[Item] = []
        read, last = 0, None
        for item in in_range:
            if (q.limit is not None and len(kept) >= q.limit) or (q.reads is not None and read >= q.reads):
                break
            read, last = read + 1, item
            if items.holds(q.filter, item):
                kept.append(item)
        return items.bounded(q, kept, read, last)

    def transact(self, operations: Sequence[Operation]) -> None:
        items.check_transaction(operations)
        with self._lock:
            for operation in operations:
                if not items.holds(operation.condition, self.items.get(operation.key)):
                    raise items.ConditionFailed(operation)
            for operation in operations:
                self._apply(operation)

    def write(self, operation: items.Put | items.Update | items.Delete) -> Item | None:
        with self._lock:
            if not items.holds(operation.condition, self.items.get(operation.key)):
                raise items.ConditionFailed(operation)
            result = self._apply(operation)
            return None if result is None else dict(result)

    def _apply(self, operation: Operation) -> Item | None:
        match operation:
            case items.Put(item):
                self.items[operation.key] = dict(item)
            case items.Update():
                self.items[operation.key] = items.updated(self.items.get(operation.key), operation)
            case items.Delete(key):
                self.items.pop(key, None)
                return None
            case items.Check():
                return None
        return self.items[operation.key]

    def scan(self, kind: str) -> list[Item]:
        with self._lock:
            return [dict(item) for item in self.items.values() if item.get("type") == kind]

    def ping(self) -> None:
        return None
