"""A failed attempt that no broker retries (a delivery in-process, a relay's publish) holds the
event back as `retrying` until its retry_at, after a backoff that grows and is jittered; the
relay promotes it then, as it does a scheduled event, and never reads or touches it before. So
an outage of a few seconds costs a few attempts, not every retry. The same on every backend.

Time is the outbox's `clock`, replaced here (tests.conftest.Clock), and relay passes come as
often as stream batches may: no test waits for a retry.
"""

import dataclasses
from datetime import datetime

import pytest

from chalicelib.domain.errors import ConcurrencyError
from chalicelib.domain.ids import utc_at
from chalicelib.messaging.delivery import NotDue, deliver
from chalicelib.messaging.dispatch import BrokerDispatcher
from chalicelib.messaging.relay import relay_once
from chalicelib.storage.repositories import UnitOfWork
from chalicelib.storage.stores import Outbox
from tests.conftest import T0, Clock, status_change


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(Outbox, "clock", staticmethod(clock))
    return clock


class MailServer:
    """Down until `until` on the test's clock (for good by default): a send before then is refused,
    as a connection to a server that is not there is."""

    def __init__(self, clock: Clock, until: float = float("inf")):
        self.clock, self.until = clock, until
        self.tries: list[float] = []  # when each send was tried
        self.sent: list = []

    def send(self, mail) -> None:
        self.tries.append(self.clock.now)
        if self.clock.now < self.until:
            raise ConnectionRefusedError("the mail server is down")
        self.sent.append(mail)


class DeadBroker:
    """A publisher whose broker never takes a task."""

    def __init__(self):
        self.asked: list[list[str]] = []

    def publish(self, settings, event_ids, *, force=False) -> list[str]:
        self.asked.append(list(event_ids))
        return []


def relaying(uow_factory, sender, dispatcher=None) -> UnitOfWork:
    """A unit of work as the relay's, sending through `sender` (and handing on by `dispatcher`)."""
    made = uow_factory()
    return UnitOfWork(made.storage, dispatcher=dispatcher or (lambda: made.dispatcher), sender=lambda: sender)


def seconds(moment: str) -> float:
    return datetime.fromisoformat(moment).timestamp()


def the_welcome(uow_factory):
    """The candidate's welcome, the one event pending."""
    (record,) = uow_factory().outbox.list(status="pending")
    return record


def test_a_mail_outage_of_a_few_seconds_costs_a_few_attempts_not_the_retries(uow_factory, settings, clock, candidate):
    welcome = the_welcome(uow_factory)
    server = MailServer(clock, until=T0 + 10)
    for _ in range(120):  # a pass every half second for a minute: 20 passes in the outage
        relay_once(relaying(uow_factory, server), settings)
        clock.advance(0.5)

    record = uow_factory().outbox.get(welcome.id)
    assert (record.status, len(server.sent)) == ("sent", 1)
    assert 2 <= len(server.tries) <= 5 and record.attempts == len(server.tries) - 1 < settings.email_max_retries
    waited = [later - earlier for earlier, later in zip(server.tries, server.tries[1:], strict=False)]
    # Each try came no sooner than the fixed half of its backoff: base x 2^n, half of it at random.
    assert all(wait >= settings.email_retry_base * 2**n / 2 - 0.001 for n, wait in enumerate(waited)), waited


def test_the_waits_between_attempts_grow_and_are_jittered(uow_factory, settings, clock, candidate):
    with uow_factory() as uow:
        for _ in range(7):
            uow.record(status_change(candidate.id))
        uow.commit()
    outbox = uow_factory().outbox
    events = [record.id for record in outbox.list(status="pending")]
    assert len(events) == 8
    down = MailServer(clock)

    previous: list[float] = [0.0]
    for attempt in range(5):
        relay_once(relaying(uow_factory, down), settings)
        records = [outbox.get(event_id) for event_id in events]
        assert {(record.status, record.attempts) for record in records} == {("retrying", attempt + 1)}
        assert all("the mail server is down" in record.last_error for record in records)
        waits = [seconds(record.retry_at) - clock.now for record in records]
        ceiling = min(settings.email_retry_max, settings.email_retry_base * 2**attempt)
        assert all(ceiling / 2 - 0.001 <= wait <= ceiling for wait in waits), (ceiling, waits)
        assert min(waits) >= max(previous) - 0.001  # longer each time
        assert len({round(wait, 3) for wait in waits}) > 1  # spread out, not all at one moment
        previous = waits
        clock.now = max(seconds(record.retry_at) for record in records)  # all due again
    assert len(down.tries) == 5 * 8


def test_the_relay_leaves_an_event_alone_until_its_retry_at(uow_factory, settings, clock, candidate, monkeypatch):
    welcome = the_welcome(uow_factory)
    down = MailServer(clock)
    relay_once(relaying(uow_factory, down), settings)
    waiting = uow_factory().outbox.get(welcome.id)
    assert (waiting.status, waiting.attempts, len(down.tries)) == ("retrying", 1, 1)

    read: list = []
    store = type(uow_factory().storage.items)
    select = store.select

    def spy(items, query):
        found = select(items, query)
        read.extend(found)
        return found

    monkeypatch.setattr(store, "select", spy)
    clock.now = seconds(waiting.retry_at) - 0.001
    report = relay_once(relaying(uow_factory, down), settings)
    assert (report.found, report.promoted, len(down.tries)) == (0, 0, 1)
    assert f"EVENT#{welcome.id}" not in {str(item["PK"]) for item in read}  # not even read
    assert uow_factory().outbox.get(welcome.id) == waiting  # nor written
    with pytest.raises(NotDue):  # handed on all the same (a stale task): refused, no attempt counted
        deliver(relaying(uow_factory, down), settings, welcome.id)
    assert uow_factory().outbox.get(welcome.id) == waiting and len(down.tries) == 1

    clock.now = seconds(waiting.retry_at)
    report = relay_once(relaying(uow_factory, down), settings)
    assert (report.found, report.promoted, len(down.tries)) == (1, 1, 2)
    assert uow_factory().outbox.get(welcome.id).attempts == 2


def test_the_due_retries_are_one_range_of_the_index(uow_factory, settings, clock, candidate, monkeypatch):
    with uow_factory() as uow:
        for _ in range(2):
            uow.record(status_change(candidate.id))
        uow.commit()
    down = MailServer(clock)
    relay_once(relaying(uow_factory, down), settings)
    outbox = uow_factory().outbox
    waiting = outbox.list(status="retrying")
    assert len(waiting) == 3

    read: list = []
    store = type(outbox._items)
    select = store.select

    def spy(items, query):
        found = select(items, query)
        assert query.filter is None  # a range, not a filter over what it read
        read.extend(found)
        return found

    monkeypatch.setattr(store, "select", spy)
    waiting.sort(key=lambda record: (record.retry_at, record.id))  # the index's order
    for moment in [utc_at(seconds(waiting[0].retry_at) - 0.001)] + [record.retry_at for record in waiting]:
        read.clear()
        found = [record.id for record in outbox.due(now=moment, status="retrying")]
        assert found == [record.id for record in waiting if record.retry_at <= moment]
        assert sorted(str(item["PK"]) for item in read) == sorted(f"EVENT#{event_id}" for event_id in found)
    assert len(found) == 3


def test_the_last_allowed_attempt_marks_it_failed_and_nothing_tries_it_again(uow_factory, settings, clock, candidate):
    settings = dataclasses.replace(settings, email_max_retries=3)
    welcome = the_welcome(uow_factory)
    down = MailServer(clock)
    for _ in range(3):
        relay_once(relaying(uow_factory, down), settings)
        record = uow_factory().outbox.get(welcome.id)
        clock.now = seconds(record.retry_at) if record.retry_at else clock.now + 3600
    assert (record.status, record.attempts, len(down.tries)) == ("failed", 3, 3)
    assert "the mail server is down" in record.last_error
    relay_once(relaying(uow_factory, down), settings)
    assert len(down.tries) == 3 and [r.id for r in uow_factory().outbox.list(status="failed")] == [welcome.id]


def test_an_event_waiting_for_a_retry_is_not_one_a_change_can_cancel(uow_factory, settings, clock, candidate):
    """Its emails are due and maybe partly sent; whether a change calls them off must not hang on a
    mail outage. And its own deliver_after is kept: the retry has a field of its own."""
    relay_once(relaying(uow_factory, MailServer(clock, until=T0)), settings)  # the welcome, sent
    event = status_change(candidate.id, utc_at(T0 + 60))
    with uow_factory() as uow:
        uow.record(event)
        uow.commit()
    clock.advance(60)
    relay_once(relaying(uow_factory, MailServer(clock)), settings)  # promoted, then refused
    record = uow_factory().outbox.get(event.id)
    assert (record.status, record.deliver_after) == ("retrying", utc_at(T0 + 60))
    assert seconds(record.retry_at) > clock.now

    assert not uow_factory().scheduled_events.is_scheduled(event.id)  # an unreject leaves it be
    with uow_factory() as uow:
        uow.scheduled_events.cancel(event.id)
        with pytest.raises(ConcurrencyError):
            uow.commit()
    assert uow_factory().outbox.get(event.id) == record


def test_a_relay_that_cannot_reach_the_broker_waits_for_the_backoff_too(uow_factory, settings, clock, candidate):
    welcome = the_welcome(uow_factory)
    broker = DeadBroker()

    def relay() -> None:
        relay_once(relaying(uow_factory, MailServer(clock), lambda: BrokerDispatcher(broker)), settings)

    relay()
    record = uow_factory().outbox.get(welcome.id)
    assert (record.status, record.attempts, broker.asked) == ("retrying", 1, [[welcome.id]])
    assert "not published" in record.last_error
    clock.now = seconds(record.retry_at) - 0.001
    relay()
    assert len(broker.asked) == 1  # not asked again before its time
    clock.now = seconds(record.retry_at)
    relay()
    assert len(broker.asked) == 2 and uow_factory().outbox.get(welcome.id).attempts == 2


def test_a_claim_another_sender_holds_waits_for_its_lease_and_costs_no_attempt(uow_factory, settings, clock, candidate):
    """Without a broker nobody comes back for an event a busy claim turned away: it waits, retrying,
    until about the claim's lease is over (not every relay pass), with its attempts unchanged."""
    welcome = the_welcome(uow_factory)
    outbox = uow_factory().outbox
    (recipient,) = {candidate.id}
    assert outbox.claim_delivery(welcome.id, recipient, lease_seconds=settings.email_lease_seconds)  # another's
    server = MailServer(clock, until=T0)
    relay_once(relaying(uow_factory, server), settings)

    waiting = outbox.get(welcome.id)
    assert (waiting.status, waiting.attempts, server.tries) == ("retrying", 0, [])
    assert "claimed by another worker" in waiting.last_error
    wait = seconds(waiting.retry_at) - clock.now
    lease = min(settings.email_lease_seconds, settings.email_retry_max)
    assert 0.75 * lease - 0.001 <= wait <= lease + 0.001
    for _ in range(3):  # passes before then leave it alone
        relay_once(relaying(uow_factory, server), settings)
    assert server.tries == [] and outbox.get(welcome.id).status == "retrying"

    clock.now = seconds(waiting.retry_at) + settings.email_lease_seconds  # the other sender died: its lease ran out
    relay_once(relaying(uow_factory, server), settings)
    relay_once(relaying(uow_factory, server), settings)
    record = outbox.get(welcome.id)
    assert (record.status, record.attempts, len(server.sent)) == ("sent", 0, 1)


def test_a_busy_claim_that_cannot_be_held_back_raises_nothing_into_the_deliverer(
    uow_factory, settings, clock, candidate, monkeypatch, caplog
):
    """deliver_in_process never raises into its caller: a store that fails holding the event back
    is logged, and the event is left as it was."""
    from chalicelib.domain.errors import Unavailable
    from chalicelib.messaging.delivery import deliver_in_process

    welcome = the_welcome(uow_factory)
    outbox = uow_factory().outbox
    assert outbox.claim_delivery(welcome.id, candidate.id, lease_seconds=settings.email_lease_seconds)

    def unavailable(self, *args, **kwargs):
        raise Unavailable("Storage is unavailable: down")

    monkeypatch.setattr(Outbox, "retry_later", unavailable)
    assert deliver_in_process(relaying(uow_factory, MailServer(clock, until=T0)), settings, welcome.id) is False
    assert "could not record the failed attempt" in caplog.text
    assert (outbox.get(welcome.id).status, outbox.get(welcome.id).attempts) == ("pending", 0)
