"""A model of plain fields is rendered without pydantic: exactly as pydantic's validate and dump would."""

import dataclasses

import pytest
from pydantic import ValidationError

from ats_functions.web.render import _plain, render, render_page
from chalicelib.domain.models import Job, JobStatus, Principal, Role
from chalicelib.schemas.jobs import JobEnvelope, JobOut
from chalicelib.services.pagination import Page
from chalicelib.storage.entities import JOB

OWNER = Principal(user_id="01HZZZZZZZZZZZZZZZZZZZZZZZ", role=Role.RECRUITER)


def pydantic_render(job) -> dict:
    return JobOut.model_validate(job).model_dump(mode="json")


def stored(job: Job) -> Job:
    """The job as a read loads it: its status a plain string."""
    return JOB.load(JOB.item(job))


@pytest.mark.parametrize("read", [False, True])
def test_a_job_renders_as_pydantic_renders_it(read):
    job = Job.publish(owner=OWNER, title="Engineer", location="Berlin", status=JobStatus.DRAFT)
    job = stored(job) if read else job
    assert _plain(JobOut, [job]) is not None  # the plain way, not pydantic's
    rendered = render(JobOut, job)
    assert rendered == pydantic_render(job)
    assert [type(value) for value in rendered.values()] == [type(value) for value in pydantic_render(job).values()]
    assert render_page(JobOut, Page([job, job], None)) == {"items": [rendered, rendered], "next_cursor": None}


@pytest.mark.parametrize(
    "change",
    [{"version": True}, {"title": JobStatus.OPEN}, {"version": 2.0}],
)
def test_a_value_pydantic_would_change_is_rendered_by_pydantic(change):
    job = dataclasses.replace(stored(Job.publish(owner=OWNER, title="Engineer")), **change)
    assert _plain(JobOut, [job]) is None
    assert render_page(JobOut, Page([job], None))["items"] == [pydantic_render(job)]


def test_a_value_pydantic_refuses_is_still_refused():
    job = dataclasses.replace(stored(Job.publish(owner=OWNER, title="Engineer")), status="archived")
    with pytest.raises(ValidationError):
        render(JobOut, job)


def test_a_dict_and_a_model_of_models_are_rendered_by_pydantic():
    job = pydantic_render(Job.publish(owner=OWNER, title="Engineer"))
    assert _plain(JobOut, [job]) is None
    assert render(JobOut, job) == job
    assert _plain(JobEnvelope, [{"job": job}]) is None
