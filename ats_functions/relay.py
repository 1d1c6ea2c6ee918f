"""The outbox relay as functions of their own (not the API's Lambda): on a schedule, and on the
DynamoDB stream of the table, so an event the request could not publish is not left waiting.

Each pass is bounded by the invocation's remaining time (its Lambda context): no send starts
once too little is left for one, and what is left stays for the next invocation.

The stream's ARN is needed when the app is packaged, so it is read from ATS_OUTBOX_STREAM_ARN at
import (the one setting read then); the placeholder makes a deploy without it fail loudly.
`make package` (deploy/template.py) replaces it in the template with the stream of the table
the template creates.
"""

import logging
import os

from chalice import Blueprint, Rate

log = logging.getLogger("ats.outbox")
blueprint = Blueprint(__name__)

STREAM_ARN = os.environ.get(
    "ATS_OUTBOX_STREAM_ARN", "arn:aws:dynamodb:us-east-1:000000000000:table/ats/stream/set-ATS_OUTBOX_STREAM_ARN"
)


def _relay(event) -> dict:
    from chalicelib import bootstrap
    from chalicelib.messaging.relay import relay_all

    context = event.context  # the Lambda context, whatever Chalice's annotation says

    def remaining() -> float:
        return context.get_remaining_time_in_millis() / 1000

    settings = bootstrap.settings()
    report = relay_all(bootstrap.unit_of_work(settings), settings, remaining=remaining)
    return {
        "found": report.found,
        "published": report.published,
        "delivered": report.delivered,
        "left": report.left,
        "promoted": report.promoted,
    }


@blueprint.schedule(Rate(1, unit=Rate.MINUTES), name="outbox_relay")
def outbox_relay(event):
    return _relay(event)


@blueprint.on_dynamodb_record(stream_arn=STREAM_ARN, batch_size=100, starting_position="LATEST", name="outbox_stream")
def outbox_stream(event):
    # New outbox events (the deployed mapping's filter passes no other record: deploy/template.py),
    # maybe ones a request could not publish: one relay pass covers them all.
    if any(record.event_name == "INSERT" for record in event):
        return _relay(event)
    return {"found": 0, "published": 0, "delivered": 0, "left": 0, "promoted": 0}
