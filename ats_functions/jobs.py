"""Jobs: publish, list, read, change, delete."""

from chalicelib.domain.models import Role
from chalicelib.schemas.jobs import JobCreateRequest, JobEnvelope, JobListQuery, JobOut, JobPage, JobUpdateRequest
from chalicelib.services import jobs

from .http import Routes, render, render_page

routes = Routes(tag="jobs")


@routes.post(
    "/jobs/create",
    "/jobs",
    auth="required",
    roles=(Role.RECRUITER, Role.ADMIN),
    returns=JobEnvelope,
    status=201,
    etag="job",
    idempotent=True,
)
def create_job(call, body: JobCreateRequest):
    """Publish a job (open by default, or a draft)"""
    job = jobs.create_job(call.context(), **body.model_dump())
    return {"job": render(JobOut, job)}


@routes.get("/jobs/list", "/jobs", auth="optional", returns=JobPage)
def list_jobs(call, params: JobListQuery):
    """Open jobs, newest first; a recruiter also sees own drafts and closed"""
    return render_page(JobOut, jobs.list_jobs(call.context(), **params.model_dump()))


@routes.get("/jobs/{job_id}", auth="optional", returns=JobEnvelope, etag="job", errors=(404,))
def get_job(call, job_id):
    """One job"""
    return {"job": render(JobOut, jobs.get_job(call.context(), job_id))}


@routes.put("/jobs/{job_id}", auth="required", returns=JobEnvelope, etag="job", if_match=True, errors=(403, 404, 409))
def update_job(call, job_id, body: JobUpdateRequest):
    """Change some fields of a job"""
    job = jobs.update_job(call.context(), job_id, body.changes(), if_match=call.if_match())
    return {"job": render(JobOut, job)}


@routes.delete("/jobs/{job_id}", auth="required", status=204, if_match=True, errors=(403, 404, 409))
def delete_job(call, job_id):
    """Delete a job (its applications are kept)"""
    jobs.delete_job(call.context(), job_id, if_match=call.if_match())
