"""Admin views: the outbox, to see which emails could not be sent."""

from chalicelib.domain.models import Role
from chalicelib.schemas.admin import OutboxEventOut, OutboxPage, OutboxQuery
from chalicelib.services import outbox

from .http import Routes, render

routes = Routes(tag="admin", auth="required")


@routes.get("/admin/outbox", roles=(Role.ADMIN,), returns=OutboxPage)
def list_outbox(call, params: OutboxQuery):
    """Outbox events in one status (failed by default), oldest first"""
    records = outbox.list_events(call.context(), status=params.status, limit=params.limit)
    return {"items": [render(OutboxEventOut, record) for record in records], "next_cursor": None}
