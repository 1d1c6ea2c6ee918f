"""Rendering, with no services: which emails an event owes and what they say."""

import pytest

from chalicelib.domain.models import Role, User
from chalicelib.messaging.emails import STATUS_TEMPLATES, emails_for, plan, render
from chalicelib.storage.records import OutboxRecord

USERS = {
    "cand": User(
        id="cand", email="carl@example.com", name="Carl <b>", role=Role.CANDIDATE, password_hash="", created_at=""
    ),
    "recr": User(
        id="recr", email="rita@example.com", name="Rita", role=Role.RECRUITER, password_hash="", created_at=""
    ),
}


def known(user_ids) -> dict[str, User]:
    """The users of these ids that exist, as the users repository's batch read gives them."""
    return {user_id: USERS[user_id] for user_id in user_ids if user_id in USERS}


def record(type_, **payload) -> OutboxRecord:
    return OutboxRecord(
        id="EVT1",
        type=type_,
        payload=payload,
        status="pending",
        attempts=0,
        last_error=None,
        created_at="",
        updated_at="",
    )


def status_changed(to_status, reason=None, from_status="applied", **more):
    return record(
        "ApplicationStatusChanged",
        application_id="APP1",
        job_id="JOB1",
        job_title="Data & ML Lead",
        candidate_id="cand",
        recruiter_id="recr",
        from_status=from_status,
        to_status=to_status,
        actor_id="recr",
        reason=reason,  # as events stored before reasons were kept from emails held it
        **more,
    )


def render_status(status, reason=None):
    return render(f"status_{status}", name="Carl", job_title="Data Lead", reason_text="", reason_html="")


def test_every_status_has_its_own_subject_and_wording():
    rendered = [render_status(status) for status in STATUS_TEMPLATES]
    assert len({r.subject for r in rendered}) == len(STATUS_TEMPLATES)
    assert len({r.text for r in rendered}) == len(STATUS_TEMPLATES)
    assert len({r.html for r in rendered}) == len(STATUS_TEMPLATES)
    assert all("Data Lead" in r.subject and "Hello Carl" in r.text for r in rendered)


@pytest.mark.parametrize(
    "status, words",
    [
        ("screening", "reviewing"),
        ("shortlisted", "shortlist"),
        ("selected", "selected"),
        ("hired", "welcome aboard"),
        ("withdrawn", "withdrawn"),
    ],
)
def test_each_status_says_what_happened(status, words):
    assert words in render_status(status).text.lower()


def test_the_rejection_is_kind_and_clear():
    text = render("rejection", name="Carl", job_title="Data Lead", message_text="", message_html="").text
    assert "Thank you" in text  # kind
    assert "decided not to move forward" in text and "this position only" in text  # clear
    assert "future openings" in text


def test_the_teams_message_is_in_the_rejection_and_escaped_in_html():
    event = status_changed("rejected", email_template="rejection", message="We chose <someone> else")
    (mail,) = emails_for(event, known)
    assert mail.template == "rejection"
    assert "We chose <someone> else" in mail.text
    assert "We chose &lt;someone&gt; else" in mail.html and "<someone>" not in mail.html
    (without,) = emails_for(status_changed("rejected", email_template="rejection"), known)
    assert "message from the team" not in without.text.lower() and "message from the team" not in without.html.lower()


@pytest.mark.parametrize("status", ["screening", "rejected", "withdrawn"])
def test_the_teams_reason_never_reaches_the_candidate(status):
    # An event stored before reasons were kept out of events still holds one: no email shows it.
    for mail in emails_for(status_changed(status, reason="Internal: weak <b>SQL</b>"), known):
        assert "weak" not in mail.text and "weak" not in mail.html and "Internal" not in mail.subject


def test_an_event_that_names_no_email_owes_the_candidate_none():
    assert plan(status_changed("rejected", email_template=None)) == []
    assert plan(status_changed("screening", email_template="stage_update")) == [("cand", "stage_update")]


def test_names_and_titles_are_plain_in_text_and_escaped_in_html():
    (mail,) = emails_for(status_changed("screening"), known)
    assert mail.subject == "Your application for Data & ML Lead is being reviewed"
    assert "Hello Carl <b>," in mail.text
    assert "Hello Carl &lt;b&gt;," in mail.html and "Data &amp; ML Lead" in mail.html


def test_which_emails_each_event_owes():
    assert plan(record("UserRegistered", user_id="cand", email="", name="", role="candidate")) == [("cand", "welcome")]
    submitted = record(
        "ApplicationSubmitted", application_id="A", job_id="J", job_title="T", candidate_id="cand", recruiter_id="recr"
    )
    assert plan(submitted) == [("cand", "application_received"), ("recr", "new_application")]
    for status in STATUS_TEMPLATES:
        owed = plan(status_changed(status))
        assert owed[0] == ("cand", f"status_{status}")
        assert owed[1:] == ([("recr", "candidate_withdrew")] if status == "withdrawn" else [])
    assert plan(status_changed("rejected")) == [("cand", "rejection")]  # an event stored before events named it
    assert plan(record("SomethingElse")) == []


def test_emails_go_to_the_users_current_address_and_skip_a_missing_user():
    submitted = record(
        "ApplicationSubmitted", application_id="A", job_id="J", job_title="T", candidate_id="cand", recruiter_id="gone"
    )
    (mail,) = emails_for(submitted, known)
    assert (mail.to, mail.recipient, mail.template) == ("carl@example.com", "cand", "application_received")
    assert mail.message_id == "<EVT1.cand@ats>"


def test_the_recruiter_hears_who_withdrew():
    to_candidate, to_recruiter = emails_for(status_changed("withdrawn", from_status="shortlisted"), known)
    assert to_recruiter.to == "rita@example.com"
    assert "Carl <b> withdrew" in to_recruiter.subject and "shortlisted stage" in to_recruiter.text
    assert "You have withdrawn" in to_candidate.subject


def test_a_title_or_name_cannot_inject_headers():
    import email
    import email.policy

    from chalicelib.messaging.emails import Email
    from chalicelib.messaging.senders import build_message

    mail = Email(
        event_id="E",
        recipient="R",
        to="carl@example.com",
        to_name="Carl\r\nBcc: eve@example.com",
        template="t",
        subject="Lead\r\nBcc: eve@example.com",
        text="héllo",
        html="<p>héllo</p>",
    )
    parsed = email.message_from_bytes(build_message(mail, "ATS <no-reply@ats.local>"), policy=email.policy.default)
    assert parsed["Bcc"] is None and parsed["Subject"] == "Lead Bcc: eve@example.com"
    assert parsed.get_body(("plain",)).get_content() == "héllo"
    assert parsed.get_body(("html",)).get_content() == "<p>héllo</p>"
