"""docker-compose.yml, checked without Docker: valid against the Compose Specification's JSON
schema (tests/data/compose-spec.json), and wired consistently between its services."""

import json
import os
import re
import shlex
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml

from tests.conftest import ROOT

STORAGE_SETTINGS = (
    "ATS_STAGE",
    "ATS_STORAGE",
    "ATS_TABLE_NAME",
    "ATS_SQLITE_PATH",
    "ATS_STATE_DIR",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ENDPOINT_URL",
    "AWS_DEFAULT_REGION",
)
EMAIL_SETTINGS = (
    "ATS_REDIS_URL",
    "ATS_EMAIL_BACKEND",
    "ATS_EMAIL_FROM",
    "ATS_SMTP_HOST",
    "ATS_SMTP_PORT",
    "ATS_SMTP_TLS",
)
CONTAINER_PORTS = {"redis": 6379, "dynamodb-local": 8000, "mailpit": 1025}  # what each image listens on
OUR_SERVICES = ("api", "worker", "relay")  # built from the Dockerfile, on the same store and email settings


@pytest.fixture(scope="module")
def compose():
    with open(os.path.join(ROOT, "docker-compose.yml")) as f:
        return yaml.safe_load(f)


@pytest.fixture(scope="module")
def services(compose):
    return compose["services"]


def environment(service: dict) -> dict:
    value = service.get("environment") or {}
    if isinstance(value, list):
        value = dict(item.split("=", 1) for item in value)
    return {key: str(item) for key, item in value.items()}


def command(service: dict, dockerfile_target: str | None = None) -> list[str]:
    value = service.get("command")
    if value is None and dockerfile_target:
        return dockerfile_cmd(dockerfile_target)
    return shlex.split(value) if isinstance(value, str) else list(value or [])


def dockerfile_cmd(target: str) -> list[str]:
    """The CMD of one stage of the Dockerfile."""
    with open(os.path.join(ROOT, "Dockerfile")) as f:
        text = f.read().replace("\\\n", " ")
    stage = re.search(rf"^FROM \S+ AS {target}$(.*?)(?=^FROM |\Z)", text, re.M | re.S)
    assert stage, f"the Dockerfile has no stage {target}"
    return json.loads(re.search(r"^CMD (\[.*\])$", stage.group(1), re.M).group(1))


def test_the_compose_file_follows_the_compose_specification(compose):
    with open(os.path.join(ROOT, "tests", "data", "compose-spec.json")) as f:
        schema = json.load(f)
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(compose), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors)


def test_the_schema_would_catch_a_misspelt_key(compose):
    with open(os.path.join(ROOT, "tests", "data", "compose-spec.json")) as f:
        schema = json.load(f)
    broken = {**compose, "services": {**compose["services"], "api": {**compose["services"]["api"], "port": ["1:1"]}}}
    assert list(jsonschema.Draft7Validator(schema).iter_errors(broken))


def test_it_runs_the_six_pieces_of_the_local_cloud(services):
    assert {"api", "worker", "relay", "redis", "dynamodb-local", "mailpit"} <= set(services)
    for name, service in services.items():
        for dependency in service.get("depends_on") or []:
            assert dependency in services, f"{name} depends on an unknown service {dependency}"


def test_our_services_build_from_the_dockerfile_and_run_what_the_makefile_runs(services):
    for name in OUR_SERVICES:
        build = services[name]["build"]
        assert build["context"] == "." and build["target"] == ("worker" if name == "relay" else name)
    for target in ("api", "worker"):
        dockerfile_cmd(target)  # the stage exists
    api = command(services["api"], "api")
    assert api[:3] == ["python", "-m", "deploy.serve"] and api[api.index("--host") + 1] == "0.0.0.0"
    worker = command(services["worker"], "worker")
    assert worker[:4] == ["celery", "-A", "chalicelib.messaging.celery_app", "worker"]
    assert command(services["relay"]) == ["python", "-m", "chalicelib.cli", "relay"]


def test_the_api_never_reloads_itself(services):
    """`chalice local` restarts on every write under /app (the state volume's files included)."""
    for api in (command(services["api"], "api"), dockerfile_cmd("api")):
        assert api[:3] == ["python", "-m", "deploy.serve"], api
        assert "--reload" not in api and "chalice" not in api


def test_every_image_is_pinned_to_a_version(services):
    with open(os.path.join(ROOT, "Dockerfile")) as f:
        stages = re.findall(r"^FROM (\S+)(?: AS (\S+))?", f.read(), re.M)
    bases = [image for image, _ in stages if image not in {name for _, name in stages}]  # not FROM <a stage>
    images = [service["image"] for service in services.values() if "image" in service] + bases
    assert len(images) >= 4
    for image in images:
        name, _, tag = image.rpartition(":")
        assert name and tag != "latest" and re.search(r"\d", tag), f"{image} is not pinned to a version"


def test_the_api_the_worker_and_the_relay_share_storage_and_email_settings(services):
    api = environment(services["api"])
    for other in ("worker", "relay"):
        env = environment(services[other])
        for name in STORAGE_SETTINGS + EMAIL_SETTINGS:
            assert api.get(name) == env.get(name), f"{name} differs between api and {other}"
        assert services["api"].get("volumes") == services[other].get("volumes")


def test_the_broker_smtp_and_dynamodb_urls_point_at_their_services(services):
    for name in OUR_SERVICES:
        env = environment(services[name])
        broker = urlsplit(env["ATS_REDIS_URL"])
        assert broker.scheme == "redis" and (broker.hostname, broker.port) == ("redis", CONTAINER_PORTS["redis"])
        assert (env["ATS_SMTP_HOST"], int(env["ATS_SMTP_PORT"])) == ("mailpit", CONTAINER_PORTS["mailpit"])
        assert env["ATS_SMTP_TLS"] == "none"  # mailpit speaks plain SMTP
        if env.get("ATS_STORAGE") == "dynamodb":
            endpoint = urlsplit(env["AWS_ENDPOINT_URL_DYNAMODB"])
            assert (endpoint.hostname, endpoint.port) == ("dynamodb-local", CONTAINER_PORTS["dynamodb-local"])
            assert f"-port {CONTAINER_PORTS['dynamodb-local']}" in " ".join(command(services["dynamodb-local"]))
        for dependency in ("redis", "mailpit") + (("dynamodb-local",) if env.get("ATS_STORAGE") == "dynamodb" else ()):
            assert dependency in services[name]["depends_on"], f"{name} must wait for {dependency}"


def test_published_ports_reach_what_listens_in_the_containers(services):
    api = command(services["api"], "api")
    listening = {"api": int(api[api.index("--port") + 1]), **CONTAINER_PORTS, "mailpit-ui": 8025}
    published = {}
    for name, service in services.items():
        for mapping in service.get("ports") or []:
            host, container = str(mapping).rsplit(":", 1)
            published.setdefault(host, []).append(name)
            assert int(container) in (listening.get(name), listening.get(f"{name}-ui")), f"{name}: {mapping}"
    assert all(len(names) == 1 for names in published.values()), f"a host port is published twice: {published}"
    assert "8000" in published and published["8000"] == ["api"]
