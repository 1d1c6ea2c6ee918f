"""The stores that write at once, outside any unit of work: the outbox's statuses and its delivery
ledger, the fixed-window counters, the Idempotency-Key claims. Each write is one conditional
write on the item store, so every driver allows and refuses exactly the same.
"""

import math
import threading
import time
from collections.abc import Sequence
from typing import Any, Protocol, Required, TypedDict, Unpack

from ..domain.errors import Unavailable
from ..domain.ids import utc_now
from ..domain.states import DeliveryState, IdempotencyState, OutboxStatus
from .entities import EVENT, JSON, due_by, event_key, outbox_index_key, outbox_partition, shards_of
from .fanout import merged
from .items import (
    ConditionFailed,
    Delete,
    Item,
    ItemStore,
    Key,
    Put,
    Query,
    Update,
    Value,
    above,
    all_of,
    any_of,
    at_most,
    below,
    equals,
    exists,
    missing,
    new_item,
    one_of,
)
from .records import IdempotencyRecord, OutboxRecord, Window

CONFLICT_RETRIES = 5
# How long a sent event and its delivery records are kept (then the store's TTL deletes them):
# long enough to answer what was sent, and longer than any redelivery of the event could come.
SENT_RETENTION_SECONDS = 30 * 86400


def _written(items: ItemStore, operation: Put | Update | Delete) -> bool:
    """Write at once; False when its condition did not hold (and nothing was written)."""
    try:
        items.write(operation)
    except ConditionFailed:
        return False
    return True


def _ttl(epoch_seconds: float) -> int:
    """The `ttl` attribute: the store may delete the item after this (whole) second."""
    return math.ceil(epoch_seconds)


def delivery_key(event_id: str, recipient: str) -> Key:
    return f"DELIVERY#{event_id}", f"TO#{recipient}"


def delivery_item(event_id: str, recipient: str, *, state: str, lease_until: float, updated_at: str) -> Item:
    return new_item(
        "Delivery",
        delivery_key(event_id, recipient),
        event_id=event_id,
        recipient=recipient,
        state=state,
        lease_until=lease_until,
        updated_at=updated_at,
    )


class Outbox:
    """The outbox of domain events and the ledger of emails sent for them.

    Events are written by UnitOfWork.commit as pending, or as scheduled while their deliver_after
    is ahead: the relay promotes those to pending once due (`due`, `promote`), unless a change
    cancelled them first (ScheduledEvents, in storage/repositories.py). The publisher marks them
    published once handed to the broker; the deliverer marks them sent when every email of the
    event went out, or failed (with last_error) when retries ran out. An attempt that failed short
    of that, where no broker holds the retry, leaves the event retrying until its retry_at
    (`retry_later`), and the relay promotes it as it does a scheduled one.

    The ledger makes sending idempotent per (event, recipient): a sender claims a delivery before
    sending, completes it after. A claim is refused when the delivery is complete or another
    sender holds an unexpired lease, so a redelivered task never sends a second email; a sender
    killed mid-send leaves a lease that expires and is claimed again.
    """

    clock = staticmethod(time.time)  # what is due is decided by it: tests move time by replacing it

    def __init__(self, items: ItemStore):
        self._items = items

    def _merged(self, status: str, *, limit: int, before: str | None = None) -> list[OutboxRecord]:
        """The status's events over every shard of its partition, merged oldest (or soonest due) first."""
        queries = [Query(partition, "GSI1", before=before) for partition in shards_of(outbox_partition(status))]
        return [EVENT.load(item) for item in merged(self._items, queries, limit=limit)]

    def due(self, *, now: str, status: str = OutboxStatus.SCHEDULED, limit: int = 100) -> list[OutboxRecord]:
        """Waiting events (scheduled, or retrying) due at or before `now`, soonest first: one range
        of each shard of the index, so the events not yet due are never read."""
        return self._merged(status, limit=limit, before=due_by(now))

    def promote(self, event_id: str, *, now: str) -> bool:
        """Move a waiting event that is due by `now` to pending; False if it is not waiting any more
        (promoted by another relay, or cancelled: the condition decides which came first)."""
        pending = outbox_index_key(OutboxStatus.PENDING, event_id)
        changes: dict[str, Value | None] = {
            "status": str(OutboxStatus.PENDING),
            "GSI1PK": pending[0],
            "GSI1SK": pending[1],
            "updated_at": utc_now(),
            "retry_at": None,
        }
        condition = any_of(
            all_of(equals("status", str(OutboxStatus.SCHEDULED)), at_most("deliver_after", now)),
            all_of(equals("status", str(OutboxStatus.RETRYING)), at_most("retry_at", now)),
        )
        return _written(self._items, Update(event_key(event_id), set=changes, condition=condition))

    def retry_later(self, event_id: str, *, at: str, error: str, attempted: bool = True) -> bool:
        """Hold the event back until `at`, counting a failed attempt unless not `attempted`:
        retrying, for the relay to promote then. False (nothing written) if it is no longer
        pending or published: another deliverer finished it meanwhile."""
        retrying = outbox_index_key(OutboxStatus.RETRYING, event_id, at)
        changes: dict[str, Value | None] = {
            "status": str(OutboxStatus.RETRYING),
            "GSI1PK": retrying[0],
            "GSI1SK": retrying[1],
            "retry_at": at,
            "updated_at": utc_now(),
            "last_error": error,
        }
        condition = one_of("status", (str(OutboxStatus.PENDING), str(OutboxStatus.PUBLISHED)))
        add = {"attempts": 1} if attempted else {}
        return _written(self._items, Update(event_key(event_id), set=changes, add=add, condition=condition))

    def list(self, *, status: str, limit: int = 100) -> list[OutboxRecord]:
        """Events in that status, oldest first (waiting ones, scheduled or retrying: soonest due first)."""
        return self._merged(status, limit=limit)

    def get(self, event_id: str) -> OutboxRecord | None:
        item = self._items.get(event_key(event_id))
        return None if item is None else EVENT.load(item)

    def mark(self, event_id: str, *, status: str, error: str | None = None, attempted: bool = False) -> None:
        """Set the event's status, one that waits for nothing (and last_error); `attempted` adds one
        to its attempts. An unknown event is left alone."""
        index_pk, index_sk = outbox_index_key(status, event_id)  # sorted by id again, if it waited
        changes: dict[str, Value | None] = {
            "status": str(status),
            "GSI1PK": index_pk,
            "GSI1SK": index_sk,
            "updated_at": utc_now(),
            "last_error": error,
        }
        if status == OutboxStatus.SENT:  # done with: kept SENT_RETENTION_SECONDS, then the TTL's
            changes["ttl"] = _ttl(self.clock() + SENT_RETENTION_SECONDS)
        add = {"attempts": 1} if attempted else {}
        _written(self._items, Update(event_key(event_id), set=changes, add=add, condition=exists()))

    def mark_published(self, event_ids: Sequence[str]) -> None:
        """Move those of these events still pending to published (a fast worker may have sent one already)."""
        now = utc_now()
        for event_id in event_ids:
            pk, sk = outbox_index_key(OutboxStatus.PUBLISHED, event_id)
            published = {"status": str(OutboxStatus.PUBLISHED), "GSI1PK": pk, "GSI1SK": sk, "updated_at": now}
            condition = equals("status", str(OutboxStatus.PENDING))
            _written(self._items, Update(event_key(event_id), set=published, condition=condition))

    def claim_delivery(self, event_id: str, recipient: str, *, lease_seconds: int) -> bool:
        """Take the right to send this event's email to this recipient; False if not to send."""
        now = self.clock()
        item = delivery_item(
            event_id, recipient, state=str(DeliveryState.SENDING), lease_until=now + lease_seconds, updated_at=utc_now()
        )
        # New, or an abandoned claim whose lease ran out; never a sent one.
        abandoned = all_of(equals("state", str(DeliveryState.SENDING)), below("lease_until", now))
        return _written(self._items, Put(item, any_of(missing(), abandoned)))

    def complete_delivery(self, event_id: str, recipient: str) -> None:
        """Record the email as sent: no claim on it succeeds again."""
        sent: dict[str, Value] = {
            "state": str(DeliveryState.SENT),
            "updated_at": utc_now(),
            "ttl": _ttl(self.clock() + SENT_RETENTION_SECONDS),  # as long as its event, or longer
        }
        _written(self._items, Update(delivery_key(event_id, recipient), set=sent, condition=exists()))

    def release_delivery(self, event_id: str, recipient: str) -> None:
        """Give up a claim after a failed send, so a retry can claim it at once."""
        _written(self._items, Delete(delivery_key(event_id, recipient), equals("state", str(DeliveryState.SENDING))))

    def delivery_state(self, event_id: str, recipient: str) -> str | None:
        """'sent', 'sending' (claimed, lease maybe expired) or None (never claimed, or released).

        Tells a refused claim's two cases apart: already sent (skip) or held by another sender.
        """
        item = self._items.get(delivery_key(event_id, recipient))
        return None if item is None else str(item["state"])


def counter_key(key: str) -> Key:
    return f"COUNTER#{key}", "COUNTER"


def counter_item(key: str, *, hits: int, ends_at: float) -> Item:
    return new_item("Counter", counter_key(key), hits=hits, ends_at=ends_at, ttl=_ttl(ends_at))


class CounterStore(Protocol):
    """Fixed-window counters: in storage (Counters) or in Redis (services/throttle.py)."""

    def hit(self, key: str, *, window_seconds: int) -> Window: ...

    def peek(self, key: str) -> Window: ...

    def clearing(self, key: str) -> Delete | None:
        """The clear as a write for a unit of work to commit with its change (counters in storage:
        no call of its own), or None when done at once (counters elsewhere, as in Redis)."""
        ...


class Counters:
    """Counters in fixed time windows (login throttling when no Redis is configured), one item a key.

    A hit starts a window, on the condition none runs (a put); when one runs, it adds one to it,
    on the condition it still runs (one racer starts it, the others add). The put comes first: a
    login's counters are cleared when it succeeds, so its next hits find none running, and start
    one in a single call instead of a refused add and a put.
    """

    clock = staticmethod(time.time)  # tests move time by replacing it

    def __init__(self, items: ItemStore):
        self._items = items

    def hit(self, key: str, *, window_seconds: int) -> Window:
        """Add one to the key's current window (a new window when none is running) and return it."""
        for _ in range(2 * CONFLICT_RETRIES):
            now = self.clock()
            ends_at = now + window_seconds
            fresh = counter_item(key, hits=1, ends_at=ends_at)
            if _written(self._items, Put(fresh, any_of(missing(), at_most("ends_at", now)))):
                return Window(1, ends_at)
            try:  # a window runs: add to it, unless it ended meanwhile
                running = self._items.write(Update(counter_key(key), add={"hits": 1}, condition=above("ends_at", now)))
            except ConditionFailed:
                continue
            if running is not None:
                return Window(int(running["hits"]), float(running["ends_at"]))
        raise Unavailable("The counter is too contended; try again.")

    def peek(self, key: str) -> Window:
        """The key's running window; Window(0, 0.0) when none runs."""
        item = self._items.get(counter_key(key))
        if item is None or float(item["ends_at"]) <= self.clock():
            return Window(0, 0.0)
        return Window(int(item["hits"]), float(item["ends_at"]))

    def clearing(self, key: str) -> Delete:
        return Delete(counter_key(key))


def idempotency_key(key: str) -> Key:
    return f"IDEMPOTENCY#{key}", "IDEMPOTENCY"


class IdempotencyAttributes(TypedDict, total=False):
    """What an idempotency item holds besides its key and expiry: status, body and headers (JSON
    text) only once its first request is done."""

    fingerprint: Required[str]
    token: Required[str | None]
    state: Required[str]
    lease_until: Required[float]
    status: int | None
    body: str | None
    headers: str | None


def idempotency_item(key: str, *, expires_at: float, **attributes: Unpack[IdempotencyAttributes]) -> Item:
    """`expires_at` is exact; `ttl` is whole seconds and its deletion lags."""
    return new_item("Idempotency", idempotency_key(key), **attributes, expires_at=expires_at, ttl=_ttl(expires_at))


class IdempotencyClaims:
    """The first response to each Idempotency-Key, so a retried create returns it again.

    A claim is held under a token its taker chose (and no reader ever sees): only that token
    completes or releases it, so a request that outlived its lease cannot touch the claim a retry
    has taken over. A record is forgotten ttl_seconds after its claim.
    """

    clock = staticmethod(time.time)  # tests move time by replacing it

    def __init__(self, items: ItemStore):
        self._items = items

    def claim(
        self, key: str, fingerprint: str, token: str, *, lease_seconds: int, ttl_seconds: int
    ) -> IdempotencyRecord | None:
        """Take the key under `token` for a new request and return None; or return the record that
        holds it. A pending record whose lease ran out (its request died) is taken over."""
        for _ in range(3):  # the holder may release or expire between our claim and our read
            now = self.clock()
            item = idempotency_item(
                key,
                fingerprint=fingerprint,
                token=token,
                state=str(IdempotencyState.PENDING),
                lease_until=now + lease_seconds,
                expires_at=now + ttl_seconds,
            )
            # New, forgotten (expired) or abandoned (pending past its lease): ours.
            abandoned = all_of(equals("state", str(IdempotencyState.PENDING)), at_most("lease_until", now))
            if _written(self._items, Put(item, any_of(missing(), at_most("expires_at", now), abandoned))):
                return None
            found = self._items.get(idempotency_key(key))
            if found is not None and float(found["expires_at"]) > now:
                return _idempotency_record(key, found)
        raise Unavailable("The idempotency key could not be claimed; try again.")

    def complete(self, key: str, token: str, *, status: int, body: str, headers: dict) -> bool:
        """Store the response of the claim `token` holds; False (and nothing stored) if it holds none."""
        done: dict[str, Value | None] = {
            "state": str(IdempotencyState.DONE),
            "status": status,
            "body": body,
            "headers": JSON.encode(headers),
        }
        return _written(self._items, Update(idempotency_key(key), set=done, condition=self._held_by(token)))

    def release(self, key: str, token: str) -> None:
        """Forget the pending claim `token` holds (its request failed), so a retry runs afresh."""
        _written(self._items, Delete(idempotency_key(key), self._held_by(token)))

    @staticmethod
    def _held_by(token: str):
        return all_of(equals("token", token), equals("state", str(IdempotencyState.PENDING)))


def _idempotency_record(key: str, item: Item) -> IdempotencyRecord:
    return IdempotencyRecord(
        key=key,
        fingerprint=str(item["fingerprint"]),
        state=str(item["state"]),
        status=None if item.get("status") is None else int(item["status"]),
        body=None if item.get("body") is None else str(item["body"]),
        headers=JSON.decode(item["headers"]) if item.get("headers") else {},
    )


class RecentAccounts:
    """Accounts read a moment ago, by id (services/users.authenticate), shared by a process's threads.

    A change made here forgets its account; and a read that began before any change here is not
    kept, as it may hold the account from before that change (a request in flight while an admin
    deactivated the user must not bring the old account back for the next few seconds).
    """

    MAX = 10_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[Any, float]] = {}
        self._changes = 0  # how many changes were made here: a read keeps its result only if none was since

    def get(self, user_id: str) -> tuple[Any, float] | None:
        """(the account, when it was read) or None."""
        return self._entries.get(user_id)

    def changes(self) -> int:
        """To pass to `keep`, taken before the read."""
        return self._changes

    def keep(self, user_id: str, account: Any, read_at: float, changes_before: int) -> None:
        with self._lock:
            if self._changes != changes_before:
                return
            if len(self._entries) >= self.MAX:
                self._entries.clear()
            self._entries[user_id] = (account, read_at)

    def forget(self, user_id: str) -> None:
        with self._lock:
            self._changes += 1
            self._entries.pop(user_id, None)


class Storage:
    """Everything stored, over one item store: what units of work and the at-once stores share."""

    # A plain class, not a frozen dataclass: a cold start makes it in a tenth of the time.
    __slots__ = ("counters", "idempotency", "items", "outbox", "recent_accounts")

    def __init__(
        self,
        items: ItemStore,
        outbox: Outbox,
        counters: Counters,
        idempotency: IdempotencyClaims,
        recent_accounts: RecentAccounts | None = None,
    ):
        self.items, self.outbox, self.counters, self.idempotency = items, outbox, counters, idempotency
        self.recent_accounts = RecentAccounts() if recent_accounts is None else recent_accounts

    @classmethod
    def over(cls, items: ItemStore) -> "Storage":
        return cls(items, Outbox(items), Counters(items), IdempotencyClaims(items))
