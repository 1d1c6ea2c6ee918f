"""The deployed function's IAM policy grants every DynamoDB call the API makes.

moto does not enforce IAM, so a call the policy lacks (as BatchGetItem once was) passes every
other suite and is refused only on AWS. This walks every route on the DynamoDB backend, records
the operations botocore sends, and checks each against the template's TABLE_ACTIONS.
"""

import pytest

from deploy.template import TABLE_ACTIONS

from .helpers import with_query

pytestmark = pytest.mark.parametrize("backend", ["moto"], indirect=True)

# Made by the table's creation on first use (ATS_DYNAMODB_CREATE_TABLES, local stages only) and by
# the test fixtures, never by a deployed function, whose table the template creates.
TABLE_SETUP = {"CreateTable", "DeleteTable", "DescribeTimeToLive", "UpdateTimeToLive"}
# A transaction needs no action of its own: IAM checks each of its items' actions, granted above.
PER_ITEM = {"TransactWriteItems"}


def test_every_dynamodb_operation_of_the_api_is_granted(api, recruiter, candidate, admin, no_dynamodb_scan):
    job = api.create_job(recruiter.token, title="Platform Engineer", location="Berlin")
    api.get(with_query("/jobs/list", q="platform", location="berlin"))
    api.get(f"/jobs/{job['id']}", token=recruiter.token)
    api.put(f"/jobs/{job['id']}", {"title": "Platform Lead"}, token=recruiter.token)
    application = api.apply(candidate.token, job["id"], cover_letter="Hello")
    api.post(
        "/applications/change-status",
        {"application_id": application["id"], "status": "screening"},
        token=recruiter.token,
    )
    for who in (candidate, recruiter, admin):
        api.get(f"/applications/{application['id']}", token=who.token)
        api.get(f"/applications/{application['id']}/history", token=who.token)
        api.get("/applications", token=who.token)
    api.get(f"/jobs/{job['id']}/applications", token=recruiter.token)
    api.post("/auth/login", {"email": "carl@example.com", "password": "wrong password"})
    api.get("/admin/outbox?status=sent", token=admin.token)
    api.get("/health")
    api.delete(f"/jobs/{job['id']}", token=recruiter.token)

    used = set(no_dynamodb_scan) - TABLE_SETUP - PER_ITEM
    assert {"BatchGetItem", "GetItem", "Query"} <= used  # the walk reached the reads it is about
    assert sorted(f"dynamodb:{operation}" for operation in used if f"dynamodb:{operation}" not in TABLE_ACTIONS) == []
