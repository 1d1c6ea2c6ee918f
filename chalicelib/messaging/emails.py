"""Which emails an outbox event owes, rendered from the templates in templates/.

Each template is a pair of files: NAME.txt, whose first line is `Subject: ...`, then a blank line,
then the plain-text body; and NAME.html, the HTML body, wrapped in layout.html. Placeholders are
string.Template's `$name`; values are HTML-escaped in the HTML part, except those whose name ends
in `_html`, which the code builds already escaped.
"""

import functools
import html
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from string import Template

from ..auth.opaque import derived_token
from ..domain.events import ApplicationStatusChanged, ApplicationSubmitted, PasswordResetRequested, UserRegistered
from ..domain.models import User
from ..domain.pipeline import ApplicationStatus
from ..domain.sessions import Purpose
from ..storage.records import OutboxRecord

log = logging.getLogger("ats.email")
TEMPLATE_DIR = Path(__file__).parent / "templates"
# The candidate's email on entering a stage of each kind (and on withdrawing), in its own words;
# a rejection has its own, `rejection`, which carries the team's message.
STATUS_TEMPLATES = tuple(status for status in ApplicationStatus if status not in ("applied", "rejected"))


@dataclass(frozen=True)
class Rendered:
    """A template filled in: subject, plain text and HTML."""

    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class Email:
    """One email an event owes one recipient."""

    event_id: str
    recipient: str  # the ledger's key: the recipient's user id
    to: str
    to_name: str
    template: str
    subject: str
    text: str
    html: str

    @property
    def message_id(self) -> str:
        """The same for every attempt, so a receiver can spot a repeat."""
        return f"<{self.event_id}.{self.recipient}@ats>"


@functools.cache
def _source(filename: str) -> str:
    return (TEMPLATE_DIR / filename).read_text(encoding="utf-8")


def render(template: str, **values) -> Rendered:
    head, _, body = _source(f"{template}.txt").partition("\n\n")
    if not head.startswith("Subject:"):
        raise ValueError(f"{template}.txt must start with a 'Subject:' line")
    values = {name: "" if value is None else str(value) for name, value in values.items()}
    subject = Template(head.removeprefix("Subject:").strip()).substitute(values)
    text_values = {name: value for name, value in values.items() if not name.endswith("_html")}
    html_values = {name: value if name.endswith("_html") else html.escape(value) for name, value in values.items()}
    content = Template(_source(f"{template}.html")).substitute(html_values)
    page = Template(_source("layout.html")).substitute(subject=html.escape(subject), content=content)
    return Rendered(subject=subject, text=Template(body).substitute(text_values), html=page)


def _note(key: str, label: str, value: str | None) -> dict:
    """A quoted note as an optional paragraph in both parts (string.Template has no conditionals):
    the values `<key>_text` and `<key>_html`."""
    if not value:
        return {f"{key}_text": "", f"{key}_html": ""}
    return {
        f"{key}_text": f"\n{label}: {value}\n",
        f"{key}_html": f"<p>{html.escape(label)}: <em>{html.escape(value)}</em></p>",
    }


def _candidate_template(p: dict) -> str | None:
    """The email the candidate is owed: the event names it (None: none); an event stored before
    events named theirs owes the email of its status."""
    if "email_template" in p:
        return p["email_template"]
    return "rejection" if p["to_status"] == ApplicationStatus.REJECTED else f"status_{p['to_status']}"


def _status_changed(p: dict) -> list[tuple[str, str]]:
    template = _candidate_template(p)
    owed = [(p["candidate_id"], template)] if template else []
    if p["to_status"] == ApplicationStatus.WITHDRAWN:
        owed.append((p["recruiter_id"], "candidate_withdrew"))
    return owed


# Each event type's emails: (recipient user id, template) from its payload.
OWED: dict[str, Callable[[dict], list[tuple[str, str]]]] = {
    UserRegistered.__name__: lambda p: [(p["user_id"], "welcome")],
    PasswordResetRequested.__name__: lambda p: [(p["user_id"], "password_reset")] if p["user_id"] else [],
    ApplicationSubmitted.__name__: lambda p: [
        (p["candidate_id"], "application_received"),
        (p["recruiter_id"], "new_application"),
    ],
    ApplicationStatusChanged.__name__: _status_changed,
}


# The page of the front end each one-time link opens, under ATS_PUBLIC_URL.
LINK_PAGES = {Purpose.RESET: "reset-password", Purpose.VERIFY: "verify-email"}
Links = Callable[[Purpose, str], str]  # (purpose, the event's nonce) -> the link


def links(secret: str, public_url: str) -> Links:
    """The links emails carry: the page, with the token derived from the event's nonce."""
    return lambda purpose, nonce: f"{public_url}/{LINK_PAGES[purpose]}?token={derived_token(secret, purpose, nonce)}"


def _link_values(p: dict, link: Links | None) -> dict:
    """The link of a reset email, or the optional verification paragraph of a welcome email."""
    if link is None:
        return {"link": "", "verify_text": "", "verify_html": ""}
    values = {"link": link(Purpose.RESET, p["nonce"]) if "nonce" in p else ""}
    verify = link(Purpose.VERIFY, p["verify_nonce"]) if p.get("verify_nonce") else None
    values["verify_text"] = f"\nConfirm your email address within 7 days: {verify}\n" if verify else ""
    values["verify_html"] = (
        f'<p>Confirm your email address within 7 days: <a href="{html.escape(verify)}">confirm it here</a>.</p>'
        if verify
        else ""
    )
    return values


def plan(record: OutboxRecord) -> list[tuple[str, str]]:
    """(recipient user id, template) for each email the event owes; none for an event no one is emailed about."""
    owed = OWED.get(record.type)
    return owed(record.payload) if owed else []


def emails_for(
    record: OutboxRecord, get_users: Callable[[Iterable[str]], Mapping[str, User]], link: Links | None = None
) -> list[Email]:
    """Render the event's emails; a recipient whose account is gone is skipped, and so is a reset
    link to a deactivated one. The accounts an event names are read in one call of `get_users`
    (ids -> the users of those that exist: one batch read). `link` writes one-time links
    (delivery.py gives it the secret)."""
    p = record.payload
    planned = plan(record)
    users = get_users(
        {*(recipient_id for recipient_id, _ in planned), *([p["candidate_id"]] if "candidate_id" in p else [])}
    )
    emails = []
    for recipient_id, template in planned:
        recipient = users.get(recipient_id)
        if recipient is None:
            log.warning("event %s: no user %s, email %s skipped", record.id, recipient_id, template)
            continue
        if template == "password_reset" and not recipient.active:
            log.warning("event %s: user %s is deactivated, reset email skipped", record.id, recipient_id)
            continue
        candidate = users.get(p["candidate_id"]) if "candidate_id" in p else None
        values = {
            "name": recipient.name,
            "email": recipient.email,
            "role": p.get("role", recipient.role),
            "job_title": p.get("job_title", ""),
            "application_id": p.get("application_id", ""),
            "from_status": p.get("from_status") or "",
            "to_status": p.get("to_status") or "",
            "candidate_name": candidate.name if candidate else "a candidate",
            "candidate_email": candidate.email if candidate else "",
            "stage_name": p.get("stage_name") or p.get("to_status") or "",
            **_note("message", "A message from the team", p.get("message")),
            **_link_values(p, link),
        }
        rendered = render(template, **values)
        emails.append(
            Email(
                event_id=record.id,
                recipient=recipient_id,
                to=recipient.email,
                to_name=recipient.name,
                template=template,
                subject=rendered.subject,
                text=rendered.text,
                html=rendered.html,
            )
        )
    return emails
