"""The Celery app: Redis broker from ATS_REDIS_URL. Run a worker with `make worker`, i.e.

    celery -A chalicelib.messaging.celery_app worker --pool=threads --concurrency=8

Imported only by the worker and on first publish, never by the API at import (cold start).
Settings are read here once, when the module is first imported, which is the worker's start.
"""

from celery import Celery

from ..config import get_settings

QUEUE = "ats-email"
TASK_DELIVER = "ats.deliver_event"


def make_app() -> Celery:
    settings = get_settings()
    visibility = settings.celery_visibility_timeout
    app = Celery("ats", include=["chalicelib.messaging.tasks"])
    app.conf.update(
        broker_url=settings.redis_url or "redis://127.0.0.1:6379/0",
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,  # a worker outlives a Redis restart
        broker_transport_options={
            # Unacked tasks come back after this long, which is how long a worker killed mid-task
            # (SIGKILL, OOM, a lost host) delays the emails it held: so it is short, 150 s by
            # default. Nothing is rightly unacked for that long: a task runs for seconds (SMTP
            # timeouts), a retry waiting for its countdown is held unacked by the worker for at most
            # ATS_EMAIL_RETRY_MAX (checked below), and a task that does come back early only repeats
            # work the delivery ledger turns into a no-op, never a second email.
            "visibility_timeout": visibility,
            # Look for them often (kombu's default scan is every 100 s): 10 s at 150 s.
            "unacked_restore_interval": max(1, min(10, visibility // 15)),
            "unacked_restore_throttle": 1,
        },
        task_acks_late=True,  # a task is acknowledged after it ran, so a crash redelivers it
        task_reject_on_worker_lost=True,  # ... even when the worker process is killed (celery#1628)
        task_acks_on_failure_or_timeout=True,
        task_ignore_result=True,
        task_default_queue=QUEUE,
        task_serializer="json",
        accept_content=["json"],
        worker_prefetch_multiplier=4,
        worker_redirect_stdouts=False,
        enable_utc=True,
    )
    if settings.email_retry_max * 2 > visibility:
        raise ValueError(
            "ATS_EMAIL_RETRY_MAX must stay under half of ATS_CELERY_VISIBILITY_TIMEOUT "
            "(a retry delayed past it is delivered twice: celery#2599)."
        )
    return app


app = make_app()
