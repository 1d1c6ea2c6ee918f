"""Delayed outbox events (Event.deliver_after), the same on every backend: written as scheduled,
found due by a range of the outbox's index at their time and not before, promoted to pending by
one conditional write, and cancelled by a change's own conditional write, so a cancel and the
relay racing for one event have exactly one winner.

Time is the outbox's `clock`, replaced here (tests.conftest.Clock): no test waits for an event
to fall due.
"""

import threading

import pytest

from chalicelib.domain.errors import ConcurrencyError, Conflict, UnknownActor
from chalicelib.domain.events import ApplicationStatusChanged
from chalicelib.domain.ids import new_id, utc_at
from chalicelib.messaging.delivery import NotDue, deliver, deliver_in_process
from chalicelib.messaging.relay import promote_due, relay_once
from chalicelib.storage.stores import Outbox
from tests.conftest import T0, Clock, status_change

from .test_guards_contract import CONCURRENT


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(Outbox, "clock", staticmethod(clock))
    return clock


@pytest.fixture
def candidate(candidate, uow_factory, settings):
    """The recipient of the events here, its welcome delivered: the outbox starts with nothing to do."""
    relay_once(uow_factory(), settings)
    assert uow_factory().outbox.list(status="pending") == []
    return candidate


def event_for(candidate, *, after: float | None) -> ApplicationStatusChanged:
    """An event that emails the candidate, held back until T0 + after (None: not held back)."""
    return status_change(candidate.id, None if after is None else utc_at(T0 + after))


def schedule(uow_factory, candidate, after: float = 60.0) -> ApplicationStatusChanged:
    event = event_for(candidate, after=after)
    with uow_factory() as uow:
        uow.record(event)
        assert uow.commit() == []  # nothing to hand on now
        assert uow.scheduled == [event]
    return event


def status_of(uow_factory, event_id: str) -> str:
    record = uow_factory().outbox.get(event_id)
    assert record is not None
    return record.status


def test_an_event_for_later_is_scheduled_and_not_pending(uow_factory, clock, candidate):
    event = schedule(uow_factory, candidate, after=60)
    outbox = uow_factory().outbox
    record = outbox.get(event.id)
    assert (record.status, record.deliver_after, record.attempts) == ("scheduled", utc_at(T0 + 60), 0)
    assert record.payload["deliver_after"] == record.deliver_after
    assert outbox.list(status="pending") == []
    assert [r.id for r in outbox.list(status="scheduled")] == [event.id]
    assert uow_factory().scheduled_events.is_scheduled(event.id)


def test_an_event_whose_time_has_come_at_commit_is_pending_and_handed_on(uow_factory, clock, candidate):
    at_its_time, past, plain = (event_for(candidate, after=after) for after in (0, -5, None))
    with uow_factory() as uow:
        for event in (at_its_time, past, plain):
            uow.record(event)
        assert uow.commit() == [at_its_time, past, plain]
        assert uow.scheduled == []
    assert {status_of(uow_factory, e.id) for e in (at_its_time, past, plain)} == {"pending"}


def test_deliver_after_is_kept_in_the_one_format_moments_compare_in(candidate):
    event = event_for(candidate, after=None)
    later = ApplicationStatusChanged(**{**event.payload(), "deliver_after": "2027-01-15T09:00:00+02:00"})
    assert later.deliver_after == "2027-01-15T07:00:00.000Z"
    with pytest.raises(ValueError, match="time zone"):
        ApplicationStatusChanged(**{**event.payload(), "deliver_after": "2027-01-15T09:00:00"})


def test_events_are_due_at_their_time_and_not_before_soonest_first(uow_factory, clock, candidate, monkeypatch):
    late, soon, latest = (schedule(uow_factory, candidate, after) for after in (60, 30, 90))
    outbox = uow_factory().outbox
    read = []
    select = type(outbox._items).select

    def spy(store, query):
        found = select(store, query)
        read.extend(found)
        assert query.filter is None  # a range of the index, not a filter over what it read
        return found

    monkeypatch.setattr(type(outbox._items), "select", spy)

    def due(at: float) -> list[str]:
        read.clear()
        found = [record.id for record in outbox.due(now=utc_at(T0 + at))]
        assert sorted(str(item["PK"]) for item in read) == sorted(f"EVENT#{i}" for i in found)  # read only those
        return found

    assert due(0) == []
    assert due(29.999) == []
    assert due(30) == [soon.id]
    assert due(60) == [soon.id, late.id]
    assert due(3600) == [soon.id, late.id, latest.id]
    assert outbox.due(now=utc_at(T0 + 3600), limit=1)[0].id == soon.id


def test_the_relay_promotes_a_due_event_once_and_delivers_it(uow_factory, settings, clock, candidate):
    event = schedule(uow_factory, candidate, after=60)
    report = relay_once(uow_factory(), settings)
    assert (report.found, report.promoted) == (0, 0)
    assert status_of(uow_factory, event.id) == "scheduled"

    clock.advance(60)
    report = relay_once(uow_factory(), settings)  # no broker here: it delivers in-process
    assert (report.found, report.promoted, report.delivered) == (1, 1, 1)
    assert status_of(uow_factory, event.id) == "sent"
    assert uow_factory().outbox.delivery_state(event.id, candidate.id) == "sent"
    report = relay_once(uow_factory(), settings)
    assert (report.found, report.promoted) == (0, 0)


def test_a_due_event_is_promoted_once_whoever_asks(uow_factory, clock, candidate):
    event = schedule(uow_factory, candidate, after=60)
    outbox = uow_factory().outbox
    assert not outbox.promote(event.id, now=utc_at(T0 + 59))  # not due by then
    clock.advance(60)
    assert promote_due(uow_factory()) == [event.id]
    assert promote_due(uow_factory()) == []
    assert not outbox.promote(event.id, now=utc_at(T0 + 60))
    record = outbox.get(event.id)
    assert record.status == "pending" and [r.id for r in outbox.list(status="pending")] == [event.id]
    assert outbox.list(status="scheduled") == []


def test_a_cancel_before_it_is_due_means_it_is_never_delivered(uow_factory, settings, clock, candidate):
    event, kept = schedule(uow_factory, candidate, after=60), schedule(uow_factory, candidate, after=60)
    with uow_factory() as uow:
        assert uow.scheduled_events.is_scheduled(event.id)
        uow.scheduled_events.cancel(event.id)
        assert status_of(uow_factory, event.id) == "scheduled"  # staged: nothing before commit
        uow.commit()
    assert status_of(uow_factory, event.id) == "cancelled"
    assert not uow_factory().scheduled_events.is_scheduled(event.id)
    assert [r.id for r in uow_factory().outbox.list(status="cancelled")] == [event.id]

    clock.advance(3600)
    report = relay_once(uow_factory(), settings)
    assert (report.promoted, report.delivered) == (1, 1)  # the other one only
    assert deliver(uow_factory(), settings, event.id) == 0  # cancelled is finished: nothing to send
    assert uow_factory().outbox.delivery_state(event.id, candidate.id) is None
    assert (status_of(uow_factory, event.id), status_of(uow_factory, kept.id)) == ("cancelled", "sent")


def test_a_cancel_is_atomic_with_the_rest_of_its_change(uow_factory, clock, candidate):
    event = schedule(uow_factory, candidate)
    with uow_factory() as uow:
        uow.scheduled_events.cancel(event.id)
        uow.users.require(new_id())  # no such account: the change fails as a whole
        with pytest.raises(UnknownActor):
            uow.commit()
    assert status_of(uow_factory, event.id) == "scheduled"


def test_a_cancel_after_the_relay_promoted_it_fails_and_a_retry_sees_it_is_not_scheduled(uow_factory, clock, candidate):
    event = schedule(uow_factory, candidate, after=60)
    with uow_factory() as uow:
        assert uow.scheduled_events.is_scheduled(event.id)  # the caller's read
        clock.advance(60)
        assert promote_due(uow_factory()) == [event.id]  # the relay, in between
        uow.scheduled_events.cancel(event.id)
        with pytest.raises(ConcurrencyError):
            uow.commit()
    assert status_of(uow_factory, event.id) == "pending"
    assert not uow_factory().scheduled_events.is_scheduled(event.id)  # the retry's read: nothing to cancel

    with uow_factory() as uow:  # a failure of the caller's choosing
        uow.scheduled_events.cancel(event.id, failure=Conflict("Too late to call it off."))
        with pytest.raises(Conflict, match="Too late"):
            uow.commit()


def test_nothing_is_delivered_before_its_time_even_when_handed_on(uow_factory, settings, clock, candidate):
    event = schedule(uow_factory, candidate, after=60)
    with pytest.raises(NotDue):
        deliver(uow_factory(), settings, event.id)  # still scheduled: only the relay hands it on
    clock.advance(60)
    assert promote_due(uow_factory()) == [event.id]
    clock.advance(-30)  # a deliverer whose clock is behind the relay's
    with pytest.raises(NotDue) as raised:
        deliver(uow_factory(), settings, event.id)
    assert 29 <= raised.value.retry_after <= 31
    assert deliver_in_process(uow_factory(), settings, event.id) is False  # no failed attempt either
    record = uow_factory().outbox.get(event.id)
    assert (record.status, record.attempts, record.last_error) == ("pending", 0, None)
    assert uow_factory().outbox.delivery_state(event.id, candidate.id) is None
    clock.advance(30)
    assert deliver(uow_factory(), settings, event.id) == 1


def race_cancel_and_relay(uow_factory, event_id: str) -> dict[str, bool]:
    """A change cancelling the event and the relay promoting it, released at once: who succeeded."""
    start, results = threading.Barrier(2), {}

    def cancel():
        with uow_factory() as uow:
            uow.scheduled_events.cancel(event_id)
            start.wait()
            try:
                uow.commit()
                results["cancel"] = True
            except ConcurrencyError:
                results["cancel"] = False

    def promote():
        outbox = uow_factory().outbox
        start.wait()
        results["relay"] = outbox.promote(event_id, now=utc_at(T0 + 60))

    threads = [threading.Thread(target=cancel), threading.Thread(target=promote)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


@CONCURRENT
def test_a_cancel_and_the_relay_racing_have_exactly_one_winner(uow_factory, clock, candidate):
    """On the servers whose writes are atomic across threads (moto's are not)."""
    events = [schedule(uow_factory, candidate, after=60) for _ in range(8)]
    clock.advance(60)
    for event in events:
        results = race_cancel_and_relay(uow_factory, event.id)
        assert sorted(results.values()) == [False, True], results
        assert status_of(uow_factory, event.id) == ("cancelled" if results["cancel"] else "pending")
