"""Applications: apply, move through the pipeline, read, list, history."""

from chalicelib.domain.models import RejectionEmail, Role
from chalicelib.schemas.applications import (
    ApplicationCreateRequest,
    ApplicationEnvelope,
    ApplicationListQuery,
    ApplicationOut,
    ApplicationPage,
    ApplicationSummaryOut,
    ChangeStatusRequest,
    HistoryEntryOut,
    HistoryPage,
    HistoryQuery,
    JobApplicationListQuery,
    MoveRequest,
    RejectRequest,
    TransitionRequest,
    UnrejectRequest,
    VisitList,
    VisitOut,
)
from chalicelib.services import applications

from .http import Routes, render, render_list, render_page

routes = Routes(tag="applications", auth="required")  # every application is someone's: nothing here is public
MOVE = dict(returns=ApplicationEnvelope, etag="application", if_match=True, errors=(403, 404, 409))
LIST = dict(returns=ApplicationPage, errors=(404,))  # 404: a job the caller cannot see


@routes.post(
    "/applications/create",
    "/applications",
    roles=(Role.CANDIDATE,),
    returns=ApplicationEnvelope,
    status=201,
    etag="application",
    idempotent=True,
    errors=(404, 409),
)
def apply(call, body: ApplicationCreateRequest):
    """Apply to an open job"""
    application = applications.apply(call.context(), **body.model_dump())
    return {"application": render(ApplicationOut, application)}


def _move(call, application_id: str, body) -> dict:
    application = applications.change_status(
        call.context(),
        application_id=application_id,
        status=body.target,
        reason=body.reason,
        expected_version=body.expected_version,
        if_match=call.if_match(),
    )
    return {"application": render(ApplicationOut, application)}


@routes.post("/applications/change-status", **MOVE)
def change_status(call, body: ChangeStatusRequest):
    """Move an application through the pipeline"""
    return _move(call, body.application_id, body)


@routes.post("/applications/{application_id}/transition", **MOVE)
def transition(call, application_id, body: TransitionRequest):
    """Move an application (the original form)"""
    return _move(call, application_id, body)


@routes.post("/applications/{application_id}/move", **MOVE)
def move(call, application_id, body: MoveRequest):
    """Move to a stage of the job's pipeline, from the stage it is in (409 stage_mismatch if it moved)"""
    application = applications.move(call.context(), application_id, **body.model_dump(), if_match=call.if_match())
    return {"application": render(ApplicationOut, application)}


@routes.post("/applications/{application_id}/reject", **MOVE)
def reject(call, application_id, body: RejectRequest):
    """Reject, with a reason; the candidate's email now, later (send_at) or not at all"""
    email = RejectionEmail(send=body.email.send, send_at=body.email.send_at_utc, message=body.email.message)
    application = applications.reject(
        call.context(),
        application_id,
        rejection_reason_id=body.rejection_reason_id,
        note=body.note,
        email=email,
        if_match=call.if_match(),
    )
    return {"application": render(ApplicationOut, application)}


@routes.post("/applications/{application_id}/unreject", **MOVE)
def unreject(call, application_id, body: UnrejectRequest):
    """Back to the stage it was rejected in; a rejection email not yet sent is cancelled"""
    application = applications.unreject(call.context(), application_id, note=body.note, if_match=call.if_match())
    return {"application": render(ApplicationOut, application)}


@routes.get("/applications/{application_id}/stages", returns=VisitList, errors=(404,))
def get_visits(call, application_id):
    """Every stage visit, oldest first, with its time in stage"""
    return render_list(VisitOut, applications.get_visits(call.context(), application_id))


@routes.get("/applications/{application_id}", returns=ApplicationEnvelope, etag="application", errors=(404,))
def get_application(call, application_id):
    """One application"""
    return {"application": render(ApplicationOut, applications.get_application(call.context(), application_id))}


@routes.get("/applications/{application_id}/history", returns=HistoryPage, errors=(404,))
def get_history(call, application_id, params: HistoryQuery):
    """Every status change, oldest first"""
    page = applications.get_history(call.context(), application_id, **params.model_dump())
    return render_page(HistoryEntryOut, page)


def _applications_page(call, params, **scope) -> dict:
    page = applications.list_applications(call.context(), **params.model_dump(), **scope)
    return render_page(ApplicationSummaryOut, page)


@routes.get("/applications", **LIST)
def list_applications(call, params: ApplicationListQuery):
    """A candidate's own applications; a recruiter's jobs' applications"""
    return _applications_page(call, params)


@routes.get("/jobs/{job_id}/applications", **LIST)
def list_job_applications(call, job_id, params: JobApplicationListQuery):
    """The applications to one job"""
    return _applications_page(call, params, job_id=job_id)
