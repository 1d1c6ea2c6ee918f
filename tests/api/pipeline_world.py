"""One store per test module for the hiring-team and pipeline tests (API.md §2).

Making a table and a dozen accounts costs seconds on moto and DynamoDB Local, so these modules
share one store per backend: `backend` here is module-scoped (a module imports it in place of the
per-test one of tests/conftest.py), and the conftest's `api`, `settings` and `uow_factory` then
work on that one store. The people and jobs a module starts from are made once (`World`); a
test that changes shared data puts it back, and a test that needs a state of its own makes a
fresh job (`World.fresh_job`) or candidate (`World.candidate`).

The conftest's person fixtures (recruiter, candidate, admin...) each register a fixed email, and
so are not used here: the world's accounts are made with names of their own.
"""

import email
import email.policy
import itertools
import os
from dataclasses import dataclass, field

import pytest

from chalicelib.services.context import context_for
from tests.conftest import BACKENDS, ROOT, STAGES, Api, _dynamodb_table, drop_dynamodb_table, settle_email

from .conftest import PASSWORD
from .helpers import Actor


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request, tmp_path_factory):
    """The module's store: SQLite, moto or DynamoDB Local, as tests/conftest.py's per-test one."""
    from chalicelib.bootstrap import forget_storage
    from chalicelib.config import get_settings

    patch = pytest.MonkeyPatch()
    root = tmp_path_factory.mktemp(f"world-{request.param}")
    patch.setenv("ATS_STATE_DIR", str(root / "state"))
    try:
        if request.param == "sqlite":
            patch.setenv("ATS_STORAGE", "sqlite")
            patch.setenv("ATS_SQLITE_PATH", str(root / "ats.db"))
            yield request.param
            forget_storage(get_settings())
        elif request.param == "moto":
            from moto import mock_aws

            _dynamodb_table(patch)
            with mock_aws():
                yield request.param
                forget_storage(get_settings())
        else:
            server = request.getfixturevalue("dynamodb_local")
            _dynamodb_table(patch)
            patch.setenv("AWS_ENDPOINT_URL_DYNAMODB", server.endpoint)
            settings = get_settings()
            yield request.param
            drop_dynamodb_table(settings)
    finally:
        patch.undo()


@pytest.fixture(scope="module")
def module_api(backend):
    from chalice.test import Client

    from app import app

    with Client(app, stage_name=STAGES[backend], project_dir=ROOT) as client:
        yield Api(client)


_serial = itertools.count(1)


@dataclass
class World:
    api: Api
    backend: str
    people: dict[str, Actor] = field(default_factory=dict)

    @property
    def settings(self):
        from chalicelib import bootstrap

        return bootstrap.settings()

    def __getitem__(self, name: str) -> Actor:
        return self.people[name]

    def person(self, name: str, role: str = "recruiter") -> Actor:
        """A new account, signed in (names are unique within the module's store)."""
        email_address = f"{name}.{next(_serial)}@example.com"
        user, token = self.api.signup(email_address, role)
        actor = Actor(user, token)
        self.people[name] = actor
        return actor

    def admin(self, name: str = "admin") -> Actor:
        from chalicelib import bootstrap
        from chalicelib.bootstrap import unit_of_work
        from chalicelib.services.users import create_admin

        settings = bootstrap.settings()
        email_address = f"{name}.{next(_serial)}@example.com"
        user = create_admin(
            context_for(unit_of_work(settings), settings), email=email_address, password=PASSWORD, name=name
        )
        settle_email()  # its welcome email first: moto is not thread-safe
        actor = Actor({"id": user.id, "email": user.email, "role": "admin"}, self.api.login(email_address, PASSWORD))
        self.people[name] = actor
        return actor

    def candidate(self, name: str = "cand") -> Actor:
        return self.person(name, "candidate")

    def fresh_job(self, owner: Actor, **fields) -> dict:
        return self.api.create_job(owner.token, title=fields.pop("title", "Data Engineer"), **fields)

    def team(self, job_id: str, owner: Actor, members: list[tuple[Actor, str]]) -> None:
        """The job's team: its owner as recruiter, and these (actor, role)."""
        body = {"members": [{"user_id": owner.id, "role": "recruiter"}]}
        body["members"] += [{"user_id": actor.id, "role": role} for actor, role in members]
        reply = self.api.put(f"/jobs/{job_id}/team", body, token=owner.token)
        assert reply.status == 200, reply.body

    def stages(self, job_id: str, token: str) -> list[dict]:
        reply = self.api.get(f"/jobs/{job_id}/stages", token=token)
        assert reply.status == 200, reply.body
        return reply.body["items"]

    def application(self, application_id: str, token: str) -> dict:
        reply = self.api.get(f"/applications/{application_id}", token=token)
        assert reply.status == 200, reply.body
        return reply.body["application"]

    def move(self, application_id: str, token: str, from_stage_id: str, to_stage_id: str, **extra):
        body = {"from_stage_id": from_stage_id, "to_stage_id": to_stage_id, **extra}
        return self.api.post(f"/applications/{application_id}/move", body, token=token)


# --- The embedded default's emails: .eml files under <state dir>/mail, named <event>.<recipient>.eml


def mail_files(settings) -> set[str]:
    settle_email()
    directory = os.path.join(settings.state_dir, "mail")
    return set(os.listdir(directory)) if os.path.isdir(directory) else set()


def read_mail(settings, name: str):
    with open(os.path.join(settings.state_dir, "mail", name), "rb") as f:
        raw = f.read()
    return raw, email.message_from_bytes(raw, policy=email.policy.default)


def mails_to(settings, user_id: str, since: set[str]) -> list[tuple[bytes, object, str]]:
    """The emails to this user since the snapshot `since`: (raw bytes, message, decoded text of every part)."""
    found = []
    for name in sorted(mail_files(settings) - since):
        if name.endswith(f".{user_id}.eml"):
            raw, message = read_mail(settings, name)
            parts = [part.get_content() for part in message.walk() if part.get_content_maintype() == "text"]
            found.append((raw, message, "\n".join(str(part) for part in parts)))
    return found
