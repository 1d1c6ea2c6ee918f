"""The worker's one task: deliver an outbox event (render + send). The work is in delivery.py."""

import logging

from .. import bootstrap
from .celery_app import TASK_DELIVER, app
from .delivery import EventMissing, TryLater, backoff, deliver, is_permanent, record_attempt, wait_again

log = logging.getLogger("ats.email")


@app.task(name=TASK_DELIVER, bind=True, max_retries=None)
def deliver_event(self, event_id: str) -> int:
    settings = bootstrap.settings()
    uow = bootstrap.unit_of_work(settings)
    try:
        return deliver(uow, settings, event_id)
    except TryLater as later:
        # Not a failure: another worker holds the claim (look again once its lease is over), or
        # the event is not due yet.
        if self.request.retries >= settings.email_max_retries * 4:
            raise
        raise self.retry(countdown=wait_again(later, settings)) from later
    except Exception as error:
        final = is_permanent(error) or self.request.retries >= settings.email_max_retries
        if isinstance(error, EventMissing):
            if final:
                log.error("giving up on %s: %s", event_id, error)
                return 0
        else:
            record_attempt(uow, event_id, error, final=final)
        if final:
            return 0
        raise self.retry(countdown=backoff(self.request.retries, settings)) from error
