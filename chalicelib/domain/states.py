"""The states of the records around the entities: an outbox event's delivery, one email's ledger
entry, an Idempotency-Key's claim. Job and application statuses live with their entities."""

from enum import StrEnum


class OutboxStatus(StrEnum):
    """Where an event's delivery stands: waiting for its deliver_after, written (due), waiting for
    its retry_at after a failed attempt, handed to the broker, done, given up, or called off before
    it was due."""

    SCHEDULED = "scheduled"
    PENDING = "pending"
    RETRYING = "retrying"
    PUBLISHED = "published"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINISHED = frozenset({OutboxStatus.SENT, OutboxStatus.FAILED, OutboxStatus.CANCELLED})  # nothing more will be tried
# Handed on by no one until due (OutboxRecord.due_at): the relay promotes them then.
WAITING = frozenset({OutboxStatus.SCHEDULED, OutboxStatus.RETRYING})


class DeliveryState(StrEnum):
    """One email of an event in the ledger: claimed under a lease, or sent."""

    SENDING = "sending"
    SENT = "sent"


class IdempotencyState(StrEnum):
    """An Idempotency-Key's first request: still running, or answered."""

    PENDING = "pending"
    DONE = "done"
