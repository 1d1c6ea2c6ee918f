"""The states of the records around the entities: an outbox event's delivery, one email's ledger
entry, an Idempotency-Key's claim. Job and application statuses live with their entities."""

from enum import StrEnum


class OutboxStatus(StrEnum):
    """Where an event's delivery stands: written, handed to the broker, done, or given up."""

    PENDING = "pending"
    PUBLISHED = "published"
    SENT = "sent"
    FAILED = "failed"


FINISHED = frozenset({OutboxStatus.SENT, OutboxStatus.FAILED})  # nothing more will be tried


class DeliveryState(StrEnum):
    """One email of an event in the ledger: claimed under a lease, or sent."""

    SENDING = "sending"
    SENT = "sent"


class IdempotencyState(StrEnum):
    """An Idempotency-Key's first request: still running, or answered."""

    PENDING = "pending"
    DONE = "done"
