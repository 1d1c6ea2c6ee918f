"""Runs inside the package test's subprocess, as the Lambda runtime would: `python -S`, with only
the unpacked zip and the runtime-provided libraries on PYTHONPATH (never the project directory).

One JSON request per stdin line, one JSON reply per stdout line:
  {"handler": "app.app", "event": {...}}  ->  {"result": ...} or {"error": "<traceback>"}
  {"modules": true}                       ->  {"result": {module: file}} of everything not in the stdlib
"""

import importlib
import json
import os
import sys
import sysconfig
import traceback

replies = os.fdopen(os.dup(1), "w")
sys.stdout = sys.stderr  # whatever the app prints must not mix with the replies


class Context:
    function_name = "ats-prod"
    function_version = "$LATEST"
    memory_limit_in_mb = 128
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:ats-prod"
    log_group_name = "/aws/lambda/ats-prod"
    log_stream_name = "test"

    @staticmethod
    def get_remaining_time_in_millis():
        return 60000


def handle(request: dict):
    if request.get("modules"):
        stdlib = sysconfig.get_paths()["stdlib"]
        return {
            name: module.__file__
            for name, module in list(sys.modules.items())
            if getattr(module, "__file__", None) and not module.__file__.startswith(stdlib)
        }
    module_name, attribute = request["handler"].rsplit(".", 1)
    result = getattr(importlib.import_module(module_name), attribute)(request["event"], Context())
    if "chalicelib.messaging.background" in sys.modules:  # let in-process email settle
        sys.modules["chalicelib.messaging.background"].wait_idle()
    return result


for line in sys.stdin:
    try:
        reply = {"result": handle(json.loads(line))}
    except Exception:
        reply = {"error": traceback.format_exc()}
    replies.write(json.dumps(reply, default=str) + "\n")
    replies.flush()
