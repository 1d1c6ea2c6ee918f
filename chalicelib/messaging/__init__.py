"""Email delivery: which emails an event owes (emails.py), how they are sent (senders.py), the
idempotent delivery of one event (delivery.py), publishing to the broker (publisher.py), the relay
of what is still pending (relay.py), and the Celery app and its task (celery_app.py, tasks.py).

Only publisher.py, celery_app.py and tasks.py touch Celery, kombu or redis, and only when first
used: importing the API never loads them (cold start).
"""
