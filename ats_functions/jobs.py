"""Jobs: publish, list, read, change, delete."""
from chalice import Blueprint

from chalicelib.domain.models import Role
from chalicelib.schemas import JobCreateRequest, JobListQuery, JobOut, JobUpdateRequest
from chalicelib.services import jobs

from .http import endpoint, etag, incoming, no_content, ok, page_body, render

blueprint = Blueprint(__name__)


@blueprint.route("/jobs/create", methods=["POST"])
@blueprint.route("/jobs", methods=["POST"])
@endpoint
def create_job():
    call = incoming(blueprint)
    who = call.principal(Role.RECRUITER, Role.ADMIN)
    body = call.body(JobCreateRequest)
    job = jobs.create_job(call.uow(), call.settings, who, **body.model_dump())
    return ok({"job": render(JobOut, job)}, status=201, headers=etag(job.version))


@blueprint.route("/jobs/list")
@blueprint.route("/jobs")
@endpoint
def list_jobs():
    call = incoming(blueprint)
    params = call.params(JobListQuery)
    page = jobs.list_jobs(call.uow(), call.settings, call.optional_principal(), **params.model_dump())
    return ok(page_body(JobOut, page))


@blueprint.route("/jobs/{job_id}")
@endpoint
def get_job(job_id):
    call = incoming(blueprint)
    job = jobs.get_job(call.uow(), job_id, call.optional_principal())
    return ok({"job": render(JobOut, job)}, headers=etag(job.version))


@blueprint.route("/jobs/{job_id}", methods=["PUT"])
@endpoint
def update_job(job_id):
    call = incoming(blueprint)
    who = call.principal()
    body = call.body(JobUpdateRequest)
    job = jobs.update_job(call.uow(), call.settings, job_id, who, body.changes(), if_match=call.if_match())
    return ok({"job": render(JobOut, job)}, headers=etag(job.version))


@blueprint.route("/jobs/{job_id}", methods=["DELETE"])
@endpoint
def delete_job(job_id):
    call = incoming(blueprint)
    jobs.delete_job(call.uow(), call.settings, job_id, call.principal(), if_match=call.if_match())
    return no_content()
