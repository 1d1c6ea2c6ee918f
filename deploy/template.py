"""What `make package` adds to the template chalice generates: the table, its stream wired to the
relay function, the settings as parameters, the names of the secrets' SSM parameters, IAM, and API
Gateway's own error answers in our error shape.

The table is described from the PynamoDB models themselves (`Item._get_schema()`, what
`create_table` sends), so the deployed table and the one the backend creates cannot drift.
"""

import json
from typing import Any

# CloudFormation parameter -> (environment variable, default, description, allowed values or None)
PARAMETERS = {
    "TableName": ("ATS_TABLE_NAME", "ats", "Name of the DynamoDB table.", None),
    "JwtSecretParameterName": (
        "ATS_JWT_SECRET_PARAMETER",
        "/ats/prod/jwt-secret",
        "Name of the SSM SecureString parameter holding the JWT signing secret (at least 32 bytes), "
        "read by the functions at cold start. Create it before deploying.",
        None,
    ),
    "JwtTtlSeconds": ("ATS_JWT_TTL_SECONDS", "900", "Access token lifetime in seconds.", None),
    "AllowRecruiterSignup": (
        "ATS_ALLOW_RECRUITER_SIGNUP",
        "true",
        "Whether recruiters may sign up.",
        ["true", "false"],
    ),
    "RedisUrl": (
        "ATS_REDIS_URL",
        "",
        "Celery broker (e.g. an ElastiCache redis:// URL); empty sends email in-process after commit.",
        None,
    ),
    "EmailBackend": ("ATS_EMAIL_BACKEND", "ses", "How email is sent.", ["ses", "smtp", "console"]),
    "EmailFrom": ("ATS_EMAIL_FROM", "ATS <no-reply@example.com>", "Sender of every email.", None),
    "PublicUrl": (
        "ATS_PUBLIC_URL",
        "https://ats.example.com",
        "Base URL of the front end the emails' reset and verification links open.",
        None,
    ),
    "SmtpHost": ("ATS_SMTP_HOST", "localhost", "SMTP server, when EmailBackend is smtp.", None),
    "SmtpPort": ("ATS_SMTP_PORT", "587", "SMTP port.", None),
    "SmtpTls": ("ATS_SMTP_TLS", "starttls", "SMTP TLS mode.", ["starttls", "tls", "none"]),
    "SmtpUser": ("ATS_SMTP_USER", "", "SMTP login; empty sends without logging in.", None),
    "SmtpPasswordParameterName": (
        "ATS_SMTP_PASSWORD_PARAMETER",
        "/ats/prod/smtp-password",
        "Name of the SSM SecureString parameter holding the SMTP password, read on the first login "
        "(only when SmtpUser is set).",
        None,
    ),
}
SECRET_PARAMETERS = ("JwtSecretParameterName", "SmtpPasswordParameterName")  # SSM names the functions read
# Where the functions run: in a VPC when subnets are given (ElastiCache, the broker, lives in one).
NETWORK_PARAMETERS = {
    "SubnetIds": "Subnets the functions run in, to reach an ElastiCache broker; empty: outside any VPC. "
    "From inside a VPC, DynamoDB, SSM and SES need a NAT gateway or VPC endpoints.",
    "SecurityGroupIds": "Security groups of the functions, when SubnetIds is set.",
}
VPC_ACCESS_POLICY = "arn:%s:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"  # % the partition
TABLE = "Table"  # the table's logical id
STREAM_FUNCTION, STREAM_EVENT = "OutboxStream", "OutboxStreamDynamodbEventSource"  # as chalice names them
FUNCTIONS = ("APIHandler", "OutboxRelay", STREAM_FUNCTION)
# The stream function is started by new outbox events only (history rows, guards, counters and
# ledger claims are inserts too, and each would start a relay pass); a batch that fails is split
# to find the record that fails, and a record is given up after its retries or an hour, as the
# relay on its schedule still finds its event pending.
STREAM_FILTER = {"eventName": ["INSERT"], "dynamodb": {"Keys": {"PK": {"S": [{"prefix": "EVENT#"}]}}}}
STREAM_RETRIES = {"BisectBatchOnFunctionError": True, "MaximumRetryAttempts": 5, "MaximumRecordAgeInSeconds": 3600}
TABLE_ACTIONS = [
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",  # the people and jobs of a page, in one call
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:Query",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
]


def table_shape() -> dict:
    """Keys, indexes, billing and stream of the table, exactly as the DynamoDB driver creates it."""
    from chalicelib.storage.drivers.dynamodb import BILLING_MODE, STREAM_VIEW_TYPE, TABLE_SCHEMA, TTL_ATTRIBUTE

    return {
        **TABLE_SCHEMA,
        "BillingMode": BILLING_MODE,
        "StreamSpecification": {"StreamViewType": STREAM_VIEW_TYPE},
        # Counters and idempotency records expire: DynamoDB deletes them after their `ttl`.
        "TimeToLiveSpecification": {"AttributeName": TTL_ATTRIBUTE, "Enabled": True},
    }


def _error_body(code: str, message: str) -> str:
    # API Gateway fills $context variables in; messageString is the message already JSON-quoted.
    return json.dumps({"error": {"code": code, "message": "MESSAGE", "details": []}}).replace('"MESSAGE"', message)


GATEWAY_RESPONSES = {
    # An unknown path (or a method a path lacks) is API Gateway's own 403 "Missing Authentication
    # Token": answer it as the app answers an unknown route.
    "MISSING_AUTHENTICATION_TOKEN": ("404", _error_body("not_found", '"No such route."')),
    "DEFAULT_4XX": (None, _error_body("$context.error.responseType", "$context.error.messageString")),
    "DEFAULT_5XX": (None, _error_body("$context.error.responseType", "$context.error.messageString")),
}


def cloudformation() -> dict:
    """The template chalice merges into its SAM template (`chalice package --merge-template`)."""
    environment = {
        "ATS_STAGE": "prod",
        "ATS_STORAGE": "dynamodb",
        "ATS_STATE_DIR": "/tmp/ats",
        **{variable: {"Ref": name} for name, (variable, *_) in PARAMETERS.items()},
    }
    environment["ATS_TABLE_NAME"] = {"Ref": TABLE}
    parameters: dict[str, dict[str, Any]] = {}
    for name, (_, default, description, allowed) in PARAMETERS.items():
        parameters[name] = {"Type": "String", "Default": default, "Description": description}
        if allowed:
            parameters[name]["AllowedValues"] = allowed
    for name in SECRET_PARAMETERS:
        parameters[name]["AllowedPattern"] = "^/.+"  # an ARN needs the leading slash
    for name, description in NETWORK_PARAMETERS.items():
        parameters[name] = {"Type": "CommaDelimitedList", "Default": "", "Description": description}
    in_vpc = {"Fn::Not": [{"Fn::Equals": [{"Fn::Join": ["", {"Ref": "SubnetIds"}]}, ""]}]}

    table = {
        "Type": "AWS::DynamoDB::Table",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {"TableName": {"Ref": "TableName"}, **table_shape()},
    }
    table_arn = {"Fn::GetAtt": [TABLE, "Arn"]}
    policy = {
        "Type": "AWS::IAM::Policy",
        "Properties": {
            "PolicyName": "AtsTableAndSecret",
            "Roles": [{"Ref": "DefaultRole"}],
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": TABLE_ACTIONS,
                        "Resource": [table_arn, {"Fn::Sub": "${%s.Arn}/index/*" % TABLE}],
                    },
                    {
                        "Effect": "Allow",
                        "Action": [
                            "dynamodb:DescribeStream",
                            "dynamodb:GetRecords",
                            "dynamodb:GetShardIterator",
                            "dynamodb:ListStreams",
                        ],
                        "Resource": {"Fn::GetAtt": [TABLE, "StreamArn"]},
                    },
                    {
                        "Effect": "Allow",
                        "Action": "ssm:GetParameter",
                        "Resource": [
                            {
                                "Fn::Sub": (
                                    "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${%s}" % name
                                )
                            }
                            for name in SECRET_PARAMETERS
                        ],
                    },
                    {
                        "Effect": "Allow",
                        "Action": "kms:Decrypt",
                        "Resource": "*",  # SecureString's key, through SSM only
                        "Condition": {
                            "StringEquals": {"kms:ViaService": {"Fn::Sub": "ssm.${AWS::Region}.amazonaws.com"}}
                        },
                    },
                    {"Effect": "Allow", "Action": ["ses:SendEmail", "ses:SendRawEmail"], "Resource": "*"},
                ],
            },
        },
    }
    resources: dict[str, dict[str, Any]] = {
        TABLE: table,
        "AtsTablePolicy": policy,
        # The network interfaces a function in a VPC needs, through AWS's own policy for it.
        "DefaultRole": {
            "Properties": {
                "ManagedPolicyArns": [
                    {"Fn::If": ["InVpc", {"Fn::Sub": VPC_ACCESS_POLICY % "${AWS::Partition}"}, {"Ref": "AWS::NoValue"}]}
                ]
            }
        },
        "RestAPI": {
            "Properties": {
                "GatewayResponses": {
                    kind: {
                        **({"StatusCode": status} if status else {}),
                        "ResponseParameters": {"Headers": {"Access-Control-Allow-Origin": "'*'"}},
                        "ResponseTemplates": {"application/json": body},
                    }
                    for kind, (status, body) in GATEWAY_RESPONSES.items()
                }
            }
        },
    }
    for function in FUNCTIONS:
        resources[function] = {
            "DependsOn": ["AtsTablePolicy"],
            "Properties": {
                "Environment": {"Variables": environment},
                "VpcConfig": {
                    "Fn::If": [
                        "InVpc",
                        {"SubnetIds": {"Ref": "SubnetIds"}, "SecurityGroupIds": {"Ref": "SecurityGroupIds"}},
                        {"Ref": "AWS::NoValue"},
                    ]
                },
            },
        }
    resources[STREAM_FUNCTION]["Properties"]["Events"] = {
        STREAM_EVENT: {
            "Properties": {
                "Stream": {"Fn::GetAtt": [TABLE, "StreamArn"]},
                "FilterCriteria": {"Filters": [{"Pattern": json.dumps(STREAM_FILTER)}]},
                **STREAM_RETRIES,
            }
        }
    }
    return {
        "Parameters": parameters,
        "Conditions": {"InVpc": in_vpc},
        "Resources": resources,
        "Outputs": {
            "TableName": {"Value": {"Ref": TABLE}},
            "TableStreamArn": {"Value": {"Fn::GetAtt": [TABLE, "StreamArn"]}},
        },
    }


def _terraform_table(name: str) -> dict:
    """CreateTable's PascalCase keys -> the aws provider's blocks for aws_dynamodb_table."""
    shape = table_shape()
    keys = {item["KeyType"]: item["AttributeName"] for item in shape["KeySchema"]}
    return {
        "billing_mode": shape["BillingMode"],
        "hash_key": keys["HASH"],
        "range_key": keys["RANGE"],
        "stream_enabled": True,
        "stream_view_type": shape["StreamSpecification"]["StreamViewType"],
        "ttl": {"attribute_name": shape["TimeToLiveSpecification"]["AttributeName"], "enabled": True},
        "attribute": [{"name": a["AttributeName"], "type": a["AttributeType"]} for a in shape["AttributeDefinitions"]],
        "global_secondary_index": [
            {
                "name": index["IndexName"],
                **{
                    ("hash_key" if k["KeyType"] == "HASH" else "range_key"): k["AttributeName"]
                    for k in index["KeySchema"]
                },
                "projection_type": index["Projection"]["ProjectionType"],
            }
            for index in shape["GlobalSecondaryIndexes"]
        ],
        "name": name,
    }


def terraform(generated: dict) -> dict:
    """The same additions on chalice's Terraform output (which has no merge option): edited in place."""
    variables: dict[str, dict[str, Any]] = {
        name: {"type": "string", "default": default, "description": description}
        for name, (_, default, description, _allowed) in PARAMETERS.items()
    }
    variables.update(
        {
            name: {"type": "list(string)", "default": [], "description": description}
            for name, description in NETWORK_PARAMETERS.items()
        }
    )
    resources = generated["resource"]
    resources["aws_dynamodb_table"] = {"ats": _terraform_table("${var.TableName}")}
    environment = {
        "ATS_STAGE": "prod",
        "ATS_STORAGE": "dynamodb",
        "ATS_STATE_DIR": "/tmp/ats",
        **{variable: "${var.%s}" % name for name, (variable, *_) in PARAMETERS.items()},
    }
    environment["ATS_TABLE_NAME"] = "${aws_dynamodb_table.ats.name}"
    for function in resources["aws_lambda_function"].values():
        function["environment"] = {"variables": environment}
        function["dynamic"] = {
            "vpc_config": {
                "for_each": "${length(var.SubnetIds) > 0 ? [1] : []}",
                "content": {"subnet_ids": "${var.SubnetIds}", "security_group_ids": "${var.SecurityGroupIds}"},
            }
        }
    for mapping in resources["aws_lambda_event_source_mapping"].values():
        mapping["event_source_arn"] = "${aws_dynamodb_table.ats.stream_arn}"
        mapping["filter_criteria"] = {"filter": [{"pattern": json.dumps(STREAM_FILTER)}]}
        mapping["bisect_batch_on_function_error"] = STREAM_RETRIES["BisectBatchOnFunctionError"]
        mapping["maximum_retry_attempts"] = STREAM_RETRIES["MaximumRetryAttempts"]
        mapping["maximum_record_age_in_seconds"] = STREAM_RETRIES["MaximumRecordAgeInSeconds"]
    statements = [
        {
            "Effect": "Allow",
            "Action": TABLE_ACTIONS,
            "Resource": ["${aws_dynamodb_table.ats.arn}", "${aws_dynamodb_table.ats.arn}/index/*"],
        },
        {
            "Effect": "Allow",
            "Action": "ssm:GetParameter",
            "Resource": [
                "arn:${data.aws_partition.chalice.partition}:ssm:${data.aws_region.chalice.name}:"
                "${data.aws_caller_identity.chalice.account_id}:parameter${var.%s}" % name
                for name in SECRET_PARAMETERS
            ],
        },
        {
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": "*",
            "Condition": {"StringEquals": {"kms:ViaService": "ssm.${data.aws_region.chalice.name}.amazonaws.com"}},
        },
        {"Effect": "Allow", "Action": ["ses:SendEmail", "ses:SendRawEmail"], "Resource": "*"},
    ]
    resources["aws_iam_role_policy_attachment"] = {
        "ats-vpc-access": {
            "count": "${length(var.SubnetIds) > 0 ? 1 : 0}",
            "role": "${aws_iam_role.default-role.name}",
            "policy_arn": VPC_ACCESS_POLICY % "${data.aws_partition.chalice.partition}",
        }
    }
    resources["aws_iam_role_policy"]["ats-table"] = {
        "name": "AtsTableAndSecret",
        "role": "${aws_iam_role.default-role.id}",
        "policy": json.dumps({"Version": "2012-10-17", "Statement": statements}),
    }
    generated["variable"] = variables
    generated.setdefault("output", {})["TableStreamArn"] = {"value": "${aws_dynamodb_table.ats.stream_arn}"}
    return generated
