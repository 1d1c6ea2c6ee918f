"""The README walkthrough, in process: the whole flow on one backend."""


def test_full_flow(api):
    recruiter, recruiter_token = api.signup("rita@example.com", "recruiter")
    candidate, candidate_token = api.signup("carl@example.com")
    job = api.create_job(recruiter_token, title="Platform Engineer", location="Berlin")

    listed = api.get("/jobs/list")
    assert [item["id"] for item in listed.body["items"]] == [job["id"]]

    application = api.apply(candidate_token, job["id"], cover_letter="Hello")
    assert application["status"] == "applied"
    for status in ("screening", "shortlisted", "selected"):
        reply = api.post(
            "/applications/change-status",
            {"application_id": application["id"], "status": status, "reason": f"to {status}"},
            token=recruiter_token,
        )
        assert reply.status == 200, reply.body
        assert reply.body["application"]["status"] == status

    history = api.get(f"/applications/{application['id']}/history", token=candidate_token)
    assert [(e["from_status"], e["to_status"]) for e in history.body["items"]] == [
        (None, "applied"),
        ("applied", "screening"),
        ("screening", "shortlisted"),
        ("shortlisted", "selected"),
    ]
    assert history.body["items"][0]["actor_id"] == candidate["id"]
    assert history.body["items"][1]["actor_id"] == recruiter["id"]
