"""The deployable artifact: `make package` builds it, and what it holds is what is tested.

The zip is unpacked and imported in a fresh `python -S` whose path holds only the unpacked zip and
the libraries the Lambda Python runtime provides (boto3, botocore, s3transfer, taken from the
venv): no project directory, no venv site-packages. Its handlers get API Gateway proxy events and
talk to moto_server (DynamoDB, and SSM for the JWT secret) on a free port.
"""

import json
import os
import subprocess
import sys
import uuid
import zipfile

import pytest

from deploy import package, template
from tests.conftest import ROOT
from tests.integration.conftest import free_port, wait_for

DRIVER = os.path.join(os.path.dirname(__file__), "lambda_driver.py")
# The table stream's record of a new outbox event, as the deployed mapping's filter passes it.
STREAM_INSERT = {
    "Records": [
        {
            "eventID": "1",
            "eventName": "INSERT",
            "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1",
            "eventSourceARN": "arn:aws:dynamodb:us-east-1:000000000000:table/ats/stream/2026",
            "dynamodb": {
                "ApproximateCreationDateTime": 1767225600,
                "SequenceNumber": "1",
                "Keys": {"PK": {"S": "EVENT#1"}, "SK": {"S": "EVENT"}},
                "SizeBytes": 10,
                "StreamViewType": "NEW_AND_OLD_IMAGES",
            },
        }
    ]
}


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """`make package`'s build (CloudFormation), once per session."""
    out = tmp_path_factory.mktemp("dist")
    zip_path = package.build(str(out))
    with open(out / "sam.json") as f:
        sam = json.load(f)
    return {"zip": zip_path, "sam": sam, "out": out}


@pytest.fixture(scope="session")
def lambda_layout(built, tmp_path_factory):
    """The zip as it lands in /var/task, and the runtime's libraries, with the environment to run them."""
    directory = tmp_path_factory.mktemp("lambda")
    env = package.unpack(built["zip"], str(directory))
    return {"task": str(directory / "task"), "runtime": str(directory / "runtime"), "env": env}


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory):
    port = free_port()
    with open(tmp_path_factory.mktemp("moto") / "moto.log", "w") as log:  # the child keeps its own copy
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def answers():
        import socket

        assert process.poll() is None, "moto_server exited"
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return True
        except OSError:
            return False

    wait_for(answers, 30, "moto_server to listen")
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(10)


class Lambda:
    """The unpacked package in its own interpreter, invoked handler by handler."""

    def __init__(self, command: list[str], env: dict, cwd, state_dir: str):
        with open(DRIVER) as f:
            code = f.read()
        self.state_dir = state_dir
        self.process = subprocess.Popen(
            [*command, "-c", code],
            cwd=cwd,
            env=env,
            text=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(30)

    def libraries(self) -> set[str]:
        """The top-level packages imported so far."""
        return {name.split(".")[0] for name in self.ask({"modules": True})}

    def ask(self, request: dict):
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        assert line, f"the function's interpreter died:\n{self.process.stderr.read()[-3000:]}"
        reply = json.loads(line)
        assert "error" not in reply, reply["error"]
        return reply["result"]

    def invoke(self, handler: str, event: dict):
        return self.ask({"handler": handler, "event": event})

    def http(self, method: str, resource: str, body=None, *, token=None, query=None, **path):
        """An API Gateway REST (v1) proxy event for the route `resource`, e.g. /jobs/{job_id}."""
        headers = {"content-type": "application/json", "host": "abc.execute-api.us-east-1.amazonaws.com"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        real_path = resource.format(**path)
        event = {
            "resource": resource,
            "path": real_path,
            "httpMethod": method,
            "headers": headers,
            "multiValueHeaders": {k: [v] for k, v in headers.items()},
            "queryStringParameters": query,
            "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
            "pathParameters": path or None,
            "stageVariables": None,
            "requestContext": {
                "resourcePath": resource,
                "httpMethod": method,
                "path": f"/api{real_path}",
                "stage": "api",
                "requestId": str(uuid.uuid4()),
                "identity": {"sourceIp": "203.0.113.9"},
            },
            "body": None if body is None else json.dumps(body),
            "isBase64Encoded": False,
        }
        response = self.invoke("app.app", event)
        return response["statusCode"], json.loads(response["body"]) if response["body"] else None


@pytest.fixture(scope="session")
def function(lambda_layout, moto_server, tmp_path_factory):
    import boto3

    parameter = "/ats/test/jwt-secret"
    boto3.client("ssm", endpoint_url=moto_server, region_name="us-east-1").put_parameter(
        Name=parameter, Value="k" * 48, Type="SecureString", Overwrite=True
    )
    env = {
        "PATH": os.environ["PATH"],
        **lambda_layout["env"],
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": moto_server,
        # The prod stage's settings, as the template sets them, plus a table made on first use.
        "ATS_STAGE": "prod",
        "ATS_STORAGE": "dynamodb",
        "ATS_TABLE_NAME": f"ats-package-{uuid.uuid4().hex[:8]}",
        "ATS_DYNAMODB_CREATE_TABLES": "true",
        "ATS_JWT_SECRET_PARAMETER": parameter,
        "ATS_EMAIL_BACKEND": "file",
        "ATS_STATE_DIR": str(tmp_path_factory.mktemp("lambda-tmp")),
        "ATS_PASSWORD_HASH_PROFILE": "fast",
        "AWS_LAMBDA_FUNCTION_NAME": "ats-prod",  # as the Lambda runtime sets it
    }
    # No site-packages (-S), and an empty current directory.
    running = Lambda([sys.executable, "-S"], env, tmp_path_factory.mktemp("cwd"), env["ATS_STATE_DIR"])
    yield running
    running.close()


def test_the_package_holds_the_app_and_its_functions_within_20_mb(built):
    with zipfile.ZipFile(built["zip"]) as archive:
        tops = {name.split("/")[0] for name in archive.namelist()}
    assert {"app.py", "chalicelib", "ats_functions"} <= tops
    assert not tops & set(package.RUNTIME_PROVIDED)
    assert os.path.getsize(built["zip"]) <= 20 * 1024 * 1024


def test_the_package_carries_the_bytecode_of_every_module(built):
    """/var/task is read-only: without bytecode in the zip, every cold start compiles every module."""
    import importlib.util

    with zipfile.ZipFile(built["zip"]) as archive:
        names = set(archive.namelist())
        sources = [name for name in names if name.endswith(".py")]
        assert "chalicelib/schemas/jobs.py" in sources and "pydantic/main.py" in sources
        for source in sources:
            directory, module = os.path.split(source)
            cached = os.path.join(directory, "__pycache__", module[:-3] + f".{sys.implementation.cache_tag}.pyc")
            assert cached in names, f"no bytecode for {source}"
            header = archive.read(cached)[:8]
            # This interpreter's magic number; flags 0b01: hash-based, unchecked (file times do not matter).
            assert header[:4] == importlib.util.MAGIC_NUMBER and int.from_bytes(header[4:8], "little") == 0b01


def test_the_unpacked_package_answers_a_hiring_scenario(function, lambda_layout):
    status, body = function.http(
        "POST",
        "/auth/register",
        {"email": "rita@example.com", "name": "Rita", "password": "correct horse battery", "role": "recruiter"},
    )
    assert status == 201, body
    status, body = function.http(
        "POST", "/auth/register", {"email": "carl@example.com", "name": "Carl", "password": "correct horse battery"}
    )
    assert status == 201, body
    recruiter = function.http(
        "POST", "/auth/login", {"email": "rita@example.com", "password": "correct horse battery"}
    )[1]["access_token"]
    candidate = function.http(
        "POST", "/auth/login", {"email": "carl@example.com", "password": "correct horse battery"}
    )[1]["access_token"]

    status, body = function.http("POST", "/jobs/create", {"title": "Platform Engineer"}, token=recruiter)
    assert status == 201, body
    job_id = body["job"]["id"]
    status, body = function.http("GET", "/jobs/list", query={"limit": "10"})
    assert status == 200 and [job["id"] for job in body["items"]] == [job_id]

    status, body = function.http("POST", "/applications/create", {"job_id": job_id}, token=candidate)
    assert status == 201, body
    application_id = body["application"]["id"]
    status, body = function.http(
        "POST",
        "/applications/change-status",
        {"application_id": application_id, "status": "screening", "reason": "looks good"},
        token=recruiter,
    )
    assert status == 200 and body["application"]["status"] == "screening", body
    status, body = function.http(
        "POST",
        "/applications/{application_id}/transition",
        {"to_state": "hired"},
        token=recruiter,
        application_id=application_id,
    )
    assert status == 409 and body["error"]["code"] == "invalid_transition"

    status, body = function.http(
        "GET", "/applications/{application_id}/history", token=candidate, application_id=application_id
    )
    assert status == 200
    assert [(entry["from_status"], entry["to_status"]) for entry in body["items"]] == [
        (None, "applied"),
        ("applied", "screening"),
    ]

    # Everything came from the unpacked zip or the runtime's libraries, nothing from the project.
    modules = function.ask({"modules": True})
    assert modules["app"] == os.path.join(lambda_layout["task"], "app.py")
    outside = {
        name: path
        for name, path in modules.items()
        if not path.startswith((lambda_layout["task"], lambda_layout["runtime"]))
    }
    assert not outside, outside
    assert not any(path.startswith(ROOT + os.sep) for path in modules.values())
    # No broker configured, in a Lambda: nothing sent after commit (the driver waits for any delivery
    # thread: a thread would freeze once the function answered), and Celery never imported; the
    # stream function delivers the events in-process.
    assert not function.libraries() & {"celery", "kombu", "redis"}
    mail = os.path.join(function.state_dir, "mail")
    assert not os.path.isdir(mail) or os.listdir(mail) == []
    stream = function.invoke("ats_functions.relay.outbox_stream", STREAM_INSERT)
    assert stream["delivered"] >= 4 and stream["left"] == 0, stream
    assert len(os.listdir(mail)) >= 4  # 2 welcomes, receipt, notice, ...


def test_a_cold_start_on_sqlite_imports_no_aws_or_broker_library(tmp_path):
    """The API function imports what its request path needs: on SQLite, no PynamoDB nor botocore;
    and Celery, kombu, redis only on a first publish (there is no broker here)."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("ATS_", "AWS_"))},
        "ATS_STORAGE": "sqlite",
        "ATS_STATE_DIR": str(tmp_path),
        "ATS_PASSWORD_HASH_PROFILE": "fast",
    }
    function = Lambda([sys.executable], env, ROOT, str(tmp_path))
    try:
        assert function.http("GET", "/ping")[0] == 200
        status, body = function.http(
            "POST", "/auth/register", {"email": "carl@example.com", "name": "Carl", "password": "correct horse battery"}
        )
        assert status == 201, body
        assert function.http("GET", "/jobs/list")[0] == 200
        modules = function.ask({"modules": True})
    finally:
        function.close()
    assert "chalicelib.storage.drivers.sqlite" in modules
    loaded = {name.split(".")[0] for name in modules}
    assert not loaded & {"pynamodb", "botocore", "boto3", "celery", "kombu", "redis"}, loaded


def test_the_relay_functions_answer_their_events(function):
    scheduled = function.invoke(
        "ats_functions.relay.outbox_relay",
        {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": "000000000000",
            "time": "2026-01-01T00:00:00Z",
            "region": "us-east-1",
            "resources": [],
            "detail": {},
        },
    )
    assert set(scheduled) == {"found", "published", "delivered", "left", "promoted"} and scheduled["left"] == 0
    stream = function.invoke("ats_functions.relay.outbox_stream", STREAM_INSERT)
    assert stream["left"] == 0


def test_the_template_adds_the_table_its_stream_and_the_relay(built):
    sam = built["sam"]
    resources = sam["Resources"]
    table = resources["Table"]
    assert table["Type"] == "AWS::DynamoDB::Table"
    properties = table["Properties"]
    assert properties["TableName"] == {"Ref": "TableName"}
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert properties["KeySchema"] == [
        {"AttributeName": "PK", "KeyType": "HASH"},
        {"AttributeName": "SK", "KeyType": "RANGE"},
    ]
    # The indexes are the backend's own (GSI1..GSI6 on GSI<n>PK/GSI<n>SK, all attributes).
    from chalicelib.storage.items import INDEXES

    indexes = {index["IndexName"]: index for index in properties["GlobalSecondaryIndexes"]}
    assert sorted(indexes) == list(INDEXES)
    for n in range(1, len(INDEXES) + 1):
        assert indexes[f"GSI{n}"]["KeySchema"] == [
            {"AttributeName": f"GSI{n}PK", "KeyType": "HASH"},
            {"AttributeName": f"GSI{n}SK", "KeyType": "RANGE"},
        ]
        assert indexes[f"GSI{n}"]["Projection"] == {"ProjectionType": "ALL"}
    assert properties == {"TableName": {"Ref": "TableName"}, **template.table_shape()}

    # The relay: on the table's stream, and every minute.
    stream = resources["OutboxStream"]["Properties"]
    assert stream["Handler"] == "ats_functions.relay.outbox_stream"
    (source,) = stream["Events"].values()
    assert source["Type"] == "DynamoDB" and source["Properties"]["Stream"] == {"Fn::GetAtt": ["Table", "StreamArn"]}
    # Only inserts of outbox events start it; a failing batch is bisected, a record given up in time.
    (pattern,) = source["Properties"]["FilterCriteria"]["Filters"]
    assert json.loads(pattern["Pattern"]) == {
        "eventName": ["INSERT"],
        "dynamodb": {"Keys": {"PK": {"S": [{"prefix": "EVENT#"}]}}},
    }
    assert source["Properties"]["BisectBatchOnFunctionError"] is True
    assert source["Properties"]["MaximumRetryAttempts"] == 5
    assert source["Properties"]["MaximumRecordAgeInSeconds"] == 3600
    assert source["Properties"]["BatchSize"] == 100  # chalice's, kept by the merge
    relay = resources["OutboxRelay"]["Properties"]
    assert relay["Handler"] == "ats_functions.relay.outbox_relay"
    (schedule,) = relay["Events"].values()
    assert schedule["Type"] == "Schedule" and schedule["Properties"]["Schedule"] == "rate(1 minute)"


def test_the_template_takes_settings_as_parameters_and_never_holds_the_secret(built):
    sam = built["sam"]
    text = json.dumps(sam)
    assert 'ATS_JWT_SECRET"' not in text and 'ATS_SMTP_PASSWORD"' not in text  # only parameters' names travel
    for name in ("APIHandler", "OutboxRelay", "OutboxStream"):
        variables = sam["Resources"][name]["Properties"]["Environment"]["Variables"]
        assert variables["ATS_TABLE_NAME"] == {"Ref": "Table"}
        assert variables["ATS_JWT_SECRET_PARAMETER"] == {"Ref": "JwtSecretParameterName"}
        assert variables["ATS_SMTP_PASSWORD_PARAMETER"] == {"Ref": "SmtpPasswordParameterName"}
        assert variables["ATS_STORAGE"] == "dynamodb" and variables["ATS_STAGE"] == "prod"
        for parameter in template.PARAMETERS:
            assert parameter in sam["Parameters"]
    policy = sam["Resources"]["AtsTablePolicy"]["Properties"]
    assert policy["Roles"] == [{"Ref": "DefaultRole"}]
    actions = {
        action
        for statement in policy["PolicyDocument"]["Statement"]
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    }
    assert {"dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem", "ssm:GetParameter"} <= actions
    assert "dynamodb:Scan" not in actions
    # The functions may read exactly the two secrets' parameters.
    (ssm,) = [
        statement for statement in policy["PolicyDocument"]["Statement"] if statement["Action"] == "ssm:GetParameter"
    ]
    assert [resource["Fn::Sub"].rsplit(":", 1)[1] for resource in ssm["Resource"]] == [
        "parameter${JwtSecretParameterName}",
        "parameter${SmtpPasswordParameterName}",
    ]


def test_the_functions_join_a_vpc_only_when_given_subnets(built):
    """ElastiCache lives in a VPC: with SubnetIds set, every function runs there, with the ENI policy."""
    sam = built["sam"]
    assert sam["Parameters"]["SubnetIds"] == {
        "Type": "CommaDelimitedList",
        "Default": "",
        "Description": template.NETWORK_PARAMETERS["SubnetIds"],
    }
    assert sam["Parameters"]["SecurityGroupIds"]["Type"] == "CommaDelimitedList"
    assert sam["Conditions"]["InVpc"] == {"Fn::Not": [{"Fn::Equals": [{"Fn::Join": ["", {"Ref": "SubnetIds"}]}, ""]}]}
    for name in template.FUNCTIONS:
        assert sam["Resources"][name]["Properties"]["VpcConfig"] == {
            "Fn::If": [
                "InVpc",
                {"SubnetIds": {"Ref": "SubnetIds"}, "SecurityGroupIds": {"Ref": "SecurityGroupIds"}},
                {"Ref": "AWS::NoValue"},
            ]
        }
    role = sam["Resources"]["DefaultRole"]["Properties"]
    assert role["ManagedPolicyArns"] == [
        {
            "Fn::If": [
                "InVpc",
                {"Fn::Sub": ("arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole")},
                {"Ref": "AWS::NoValue"},
            ]
        }
    ]
    assert role["Policies"][0]["PolicyName"] == "DefaultRolePolicy"  # merged into chalice's role, not replacing it


def test_api_gateway_answers_unknown_routes_in_the_error_shape(built):
    responses = built["sam"]["Resources"]["RestAPI"]["Properties"]["GatewayResponses"]
    missing = responses["MISSING_AUTHENTICATION_TOKEN"]
    assert missing["StatusCode"] == "404"
    body = json.loads(missing["ResponseTemplates"]["application/json"])
    assert body == {"error": {"code": "not_found", "message": "No such route.", "details": []}}
    for kind in ("DEFAULT_4XX", "DEFAULT_5XX"):
        assert '"error"' in responses[kind]["ResponseTemplates"]["application/json"]
        assert responses[kind]["ResponseParameters"]["Headers"]["Access-Control-Allow-Origin"] == "'*'"


def test_the_terraform_variant_wires_the_same_table(built, tmp_path):
    package.build(str(tmp_path), "terraform")
    with open(built["zip"], "rb") as first, open(tmp_path / "deployment.zip", "rb") as second:
        # The same code makes the same zip, byte for byte: a deploy changes no function that did not change.
        assert first.read() == second.read()
    with open(tmp_path / "chalice.tf.json") as f:
        terraform = json.load(f)
    table = terraform["resource"]["aws_dynamodb_table"]["ats"]
    assert table["billing_mode"] == "PAY_PER_REQUEST" and table["stream_view_type"] == "NEW_AND_OLD_IMAGES"
    assert len(table["global_secondary_index"]) == 6
    (mapping,) = terraform["resource"]["aws_lambda_event_source_mapping"].values()
    assert mapping["event_source_arn"] == "${aws_dynamodb_table.ats.stream_arn}"
    assert json.loads(mapping["filter_criteria"]["filter"][0]["pattern"]) == template.STREAM_FILTER
    assert mapping["bisect_batch_on_function_error"] is True
    assert (mapping["maximum_retry_attempts"], mapping["maximum_record_age_in_seconds"]) == (5, 3600)
    assert set(template.PARAMETERS) <= set(terraform["variable"])
    assert terraform["variable"]["SubnetIds"]["type"] == "list(string)"
    for function in terraform["resource"]["aws_lambda_function"].values():
        vpc = function["dynamic"]["vpc_config"]
        assert vpc["for_each"] == "${length(var.SubnetIds) > 0 ? [1] : []}"
        assert vpc["content"] == {"subnet_ids": "${var.SubnetIds}", "security_group_ids": "${var.SecurityGroupIds}"}
    (attachment,) = terraform["resource"]["aws_iam_role_policy_attachment"].values()
    assert attachment["count"] == "${length(var.SubnetIds) > 0 ? 1 : 0}"
    assert attachment["policy_arn"].endswith(":iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole")
    assert os.path.getsize(tmp_path / "deployment.zip") <= 20 * 1024 * 1024


def test_the_template_passes_cfn_lint(built):
    """cfn-lint checks the resources against CloudFormation's own schemas (the table, the IAM policy)."""
    result = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "cfn-lint"), str(built["out"] / "sam.json")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
