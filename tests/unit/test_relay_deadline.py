"""A relay pass in a Lambda is bounded by the invocation's remaining time: no pass and no send
starts once less than the SMTP timeout and a second are left, and what is left stays pending,
untried, for the next invocation. The local relay daemon has no deadline.

The function's time is a fake that only the slow sender spends: no test waits for a send.
"""

from chalicelib.domain.events import ApplicationSubmitted
from chalicelib.domain.ids import new_id, utc_at
from chalicelib.domain.models import Role, User
from chalicelib.messaging.dispatch import InProcessDispatcher
from chalicelib.messaging.relay import relay_all
from chalicelib.storage.repositories import UnitOfWork
from chalicelib.storage.stores import Outbox
from tests.conftest import T0, Clock, status_change

from .fakes import MemoryStorage, fake_settings

SETTINGS = fake_settings(smtp_timeout=10.0)  # a send starts only with 11 s left
SEND_SECONDS = 4.0


class Invocation:
    """A Lambda invocation's clock: `remaining` as its context's get_remaining_time_in_millis, in seconds."""

    def __init__(self, seconds: float):
        self.left = seconds

    def remaining(self) -> float:
        return self.left


class SlowSender:
    """A mail server that takes SEND_SECONDS of the invocation's time per email."""

    def __init__(self, invocation: Invocation):
        self.invocation = invocation
        self.started_with: list[float] = []  # the time left when each send started
        self.sent: list = []

    def send(self, mail) -> None:
        self.started_with.append(self.invocation.remaining())
        self.invocation.left -= SEND_SECONDS
        self.sent.append(mail)


def relaying(store: MemoryStorage, sender) -> UnitOfWork:
    return UnitOfWork(store.storage, dispatcher=InProcessDispatcher, sender=lambda: sender)


def registered(store: MemoryStorage, count: int) -> list[User]:
    """Accounts whose welcomes are pending in the outbox."""
    users = [
        User.register(email=f"u{n}@example.com", name=f"U{n}", role=Role.CANDIDATE, password_hash="h")
        for n in range(count)
    ]
    with store.unit_of_work() as uow:
        for user in users:
            uow.users.add(user)
        uow.commit()
    return users


def statuses(store: MemoryStorage) -> list[tuple[str, int, str | None]]:
    return sorted((record.status, record.attempts, record.last_error) for record in store.outbox.values())


def test_no_send_starts_with_less_than_the_smtp_timeout_and_a_second_left_and_the_rest_waits():
    store = MemoryStorage()
    registered(store, 10)
    invocation = Invocation(30.0)
    slow = SlowSender(invocation)

    report = relay_all(relaying(store, slow), SETTINGS, remaining=invocation.remaining)
    assert slow.started_with == [30.0, 26.0, 22.0, 18.0, 14.0]  # then 10 s left: under 11
    assert min(slow.started_with) >= SETTINGS.smtp_timeout + 1  # no send's timeout outlasts the function
    assert (report.found, report.delivered, report.left) == (10, 5, 5)
    # Left untried: pending, no attempt counted, no error; the next invocation takes them.
    assert statuses(store) == [("pending", 0, None)] * 5 + [("sent", 0, None)] * 5

    following = Invocation(60.0)
    report = relay_all(relaying(store, SlowSender(following)), SETTINGS, remaining=following.remaining)
    assert (report.found, report.delivered, report.left) == (5, 5, 0)
    assert statuses(store) == [("sent", 0, None)] * 10


def test_no_new_pass_starts_once_out_of_time(monkeypatch):
    store = MemoryStorage()
    registered(store, 6)
    invocation = Invocation(34.0)
    slow = SlowSender(invocation)

    report = relay_all(relaying(store, slow), SETTINGS, limit=2, remaining=invocation.remaining)
    # Passes of two: 34 and 30 s left, then 26 and 22, then 18 and 14; then 10 s left: no fourth pass.
    assert slow.started_with == [34.0, 30.0, 26.0, 22.0, 18.0, 14.0]
    assert (report.found, report.delivered) == (6, 6)

    clock = Clock()
    monkeypatch.setattr(Outbox, "clock", staticmethod(clock))
    late_store = MemoryStorage()
    registered(late_store, 1)
    with late_store.unit_of_work() as uow:
        uow.record(status_change(new_id(), utc_at(T0 + 60)))
        uow.commit()
    clock.advance(60)  # due: any pass would promote it
    late = Invocation(SETTINGS.smtp_timeout + 0.5)
    report = relay_all(relaying(late_store, SlowSender(late)), SETTINGS, remaining=late.remaining)
    assert (report.found, report.promoted, report.delivered) == (0, 0, 0)
    assert statuses(late_store) == [("pending", 0, None), ("scheduled", 0, None)]  # not even promoted


def test_an_event_stopped_between_two_of_its_emails_sends_only_the_other_one_next_time():
    store = MemoryStorage()
    candidate, recruiter = registered(store, 2)
    invocation = Invocation(60.0)
    relay_all(relaying(store, SlowSender(invocation)), SETTINGS, remaining=invocation.remaining)  # the welcomes
    submitted = ApplicationSubmitted(
        application_id=new_id(),
        job_id=new_id(),
        job_title="Platform Engineer",
        candidate_id=candidate.id,
        recruiter_id=recruiter.id,
    )
    with store.unit_of_work() as uow:
        uow.record(submitted)
        uow.commit()

    short = Invocation(SETTINGS.smtp_timeout + 1 + SEND_SECONDS - 0.5)  # time for one email, not two
    first = SlowSender(short)
    report = relay_all(relaying(store, first), SETTINGS, remaining=short.remaining)
    assert len(first.sent) == 1 and (report.delivered, report.left) == (0, 1)
    record = store.outbox[submitted.id]
    assert (record.status, record.attempts, record.last_error) == ("pending", 0, None)

    following = Invocation(60.0)
    second = SlowSender(following)
    relay_all(relaying(store, second), SETTINGS, remaining=following.remaining)
    assert len(second.sent) == 1
    assert {first.sent[0].recipient, second.sent[0].recipient} == {candidate.id, recruiter.id}
    assert store.outbox[submitted.id].status == "sent"


def test_the_local_relay_has_no_deadline():
    store = MemoryStorage()
    registered(store, 20)
    slow = SlowSender(Invocation(0.0))  # its time runs out at once, and nothing asks for it

    report = relay_all(relaying(store, slow), SETTINGS)
    assert (report.delivered, report.left) == (20, 0) and len(slow.sent) == 20
