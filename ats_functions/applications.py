"""Applications: apply, move through the pipeline, read, list, history."""
from chalice import Blueprint

from chalicelib.domain.models import Role
from chalicelib.schemas import (ApplicationCreateRequest, ApplicationListQuery, ApplicationOut,
                                ChangeStatusRequest, HistoryEntryOut, TransitionRequest)
from chalicelib.services import applications

from .http import endpoint, etag, incoming, ok, page_body, render

blueprint = Blueprint(__name__)


@blueprint.route("/applications/create", methods=["POST"])
@blueprint.route("/applications", methods=["POST"])
@endpoint
def apply():
    call = incoming(blueprint)
    who = call.principal(Role.CANDIDATE)
    body = call.body(ApplicationCreateRequest)
    application = applications.apply(call.uow(), call.settings, who, **body.model_dump())
    return ok({"application": render(ApplicationOut, application)}, status=201, headers=etag(application.version))


def _change_status(call, application_id: str, body) -> dict:
    application = applications.change_status(
        call.uow(), call.settings, call.principal(), application_id=application_id, status=body.target,
        reason=body.reason, expected_version=body.expected_version, if_match=call.if_match())
    return ok({"application": render(ApplicationOut, application)}, headers=etag(application.version))


@blueprint.route("/applications/change-status", methods=["POST"])
@endpoint
def change_status():
    call = incoming(blueprint)
    call.principal()
    body = call.body(ChangeStatusRequest)
    return _change_status(call, body.application_id, body)


@blueprint.route("/applications/{application_id}/transition", methods=["POST"])
@endpoint
def transition(application_id):
    call = incoming(blueprint)
    call.principal()
    return _change_status(call, application_id, call.body(TransitionRequest))


@blueprint.route("/applications/{application_id}")
@endpoint
def get_application(application_id):
    call = incoming(blueprint)
    application = applications.get_application(call.uow(), application_id, call.principal())
    return ok({"application": render(ApplicationOut, application)}, headers=etag(application.version))


@blueprint.route("/applications/{application_id}/history")
@endpoint
def get_history(application_id):
    call = incoming(blueprint)
    entries = applications.get_history(call.uow(), application_id, call.principal())
    return ok({"items": [render(HistoryEntryOut, entry) for entry in entries], "next_cursor": None})


@blueprint.route("/applications")
@endpoint
def list_applications():
    call = incoming(blueprint)
    params = call.params(ApplicationListQuery)
    page = applications.list_applications(call.uow(), call.settings, call.optional_principal(),
                                          **params.model_dump())
    return ok(page_body(ApplicationOut, page))


@blueprint.route("/jobs/{job_id}/applications")
@endpoint
def list_job_applications(job_id):
    call = incoming(blueprint)
    params = call.params(ApplicationListQuery)
    page = applications.list_applications(call.uow(), call.settings, call.optional_principal(),
                                          **{**params.model_dump(), "job_id": job_id})
    return ok(page_body(ApplicationOut, page))
