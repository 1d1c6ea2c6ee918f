"""A worker's task held back (a claim another worker holds, an event not yet due) looks again after
the wait it was given, capped, and spread at random below it: the tasks one killed worker's leases
held back do not all come back in the same second, nor later than the cap allows."""

from chalicelib.messaging.delivery import DeliveryBusy, NotDue, wait_again

from .fakes import fake_settings

SETTINGS = fake_settings(email_retry_max=60.0, email_lease_seconds=120)


def test_a_busy_claim_is_looked_at_again_within_the_cap_and_spread_out():
    busy = DeliveryBusy("e1", "u1", retry_after=SETTINGS.email_lease_seconds)
    waits = [wait_again(busy, SETTINGS) for _ in range(200)]
    assert all(45.0 <= wait <= 60.0 for wait in waits)  # the cap, three quarters of it always
    assert max(waits) - min(waits) > 5  # not one moment for all


def test_an_event_not_due_is_looked_at_again_about_when_it_is():
    waits = [wait_again(NotDue("e1", retry_after=4.0), SETTINGS) for _ in range(200)]
    assert all(3.0 <= wait <= 4.0 for wait in waits) and len(set(waits)) > 1
