"""A model of plain fields is rendered without pydantic: exactly as pydantic's validate and dump would."""

import dataclasses

import pytest
from pydantic import ValidationError
from pydantic_core import to_json

from ats_functions.web.render import _json, _plain, render, render_page
from chalicelib.domain.models import Application, Job, JobStatus, Principal, Role, User
from chalicelib.domain.pipeline import ApplicationStatus
from chalicelib.schemas.applications import ApplicationOut
from chalicelib.schemas.jobs import JobEnvelope, JobOut
from chalicelib.services.applications import ApplicationSeen
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


def test_a_dict_is_rendered_by_pydantic():
    job = pydantic_render(Job.publish(owner=OWNER, title="Engineer"))
    assert _plain(JobOut, [job]) is None
    assert render(JobOut, job) == job
    assert _plain(JobEnvelope, [{"job": job}]) is None


@pytest.mark.parametrize("internal", [False, True])
def test_an_application_with_its_stage_candidate_and_job_renders_as_pydantic_renders_it(internal):
    candidate = User.register(email="c@example.com", name="Cat", role=Role.CANDIDATE, password_hash="x")
    job = stored(Job.publish(owner=OWNER, title="Engineer"))
    application = Application.submit(job=job, candidate=Principal(candidate.id, Role.CANDIDATE), cover_letter="Hello")
    seen = ApplicationSeen(
        application,
        [ApplicationStatus.SCREENING, ApplicationStatus.REJECTED],
        job.stage(application.stage_id),
        candidate,
        job,
        internal=internal,
    )
    assert _plain(ApplicationOut, [seen]) is not None
    assert render(ApplicationOut, seen) == ApplicationOut.model_validate(seen).model_dump(mode="json")
    alone = ApplicationSeen(application, [], None, None, None, internal=internal)  # its job and candidate gone
    assert render(ApplicationOut, alone) == ApplicationOut.model_validate(alone).model_dump(mode="json")
    odd = ApplicationSeen(application, (ApplicationStatus.SCREENING,), None, None, None, internal=internal)
    assert _plain(ApplicationOut, [odd]) is None  # a tuple: pydantic's to render
    assert render(ApplicationOut, odd) == ApplicationOut.model_validate(odd).model_dump(mode="json")


def test_a_body_orjson_refuses_is_encoded_by_pydantic_and_the_rest_alike():
    common = {"text": "é\u2028\x00😀", "n": None, "f": 0.1 + 0.2, "big": 2**63 - 1, "list": [1, "x", {"k": True}]}
    assert _json(common) == to_json(common).decode()
    huge = {"n": 2**70}  # past orjson's 64 bits
    assert _json(huge) == to_json(huge).decode() == '{"n":1180591620717411303424}'
