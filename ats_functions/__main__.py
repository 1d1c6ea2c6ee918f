"""`make openapi` (python -m ats_functions): write what is generated from the views and committed.

openapi.json                   the OpenAPI document (a test keeps it equal to the one served)
ats_functions/route_table.py   every route and the resource module that answers it (a test
                               keeps it equal to the views' decorators)
"""

import json
import os

from . import declared_routes
from .openapi import openapi_document

HERE = os.path.dirname(os.path.abspath(__file__))
ROUTE_TABLE_HEADER = '''"""Every HTTP route: (resource module, method, path, view). The app registers these without
importing the views (see __init__.py). Written by `make openapi` from the views' decorators:
edit the views, not this file."""

'''


def route_table_source() -> str:
    rows = "".join(f"    ({', '.join(json.dumps(value) for value in route)}),\n" for route in declared_routes())
    return f"{ROUTE_TABLE_HEADER}ROUTES = (\n{rows})\n"


def main() -> None:
    # Both made before either is written: a view that fails to import leaves both files as they were.
    document = json.dumps(openapi_document(), indent=2, sort_keys=True) + "\n"
    outputs = {
        os.path.join(os.path.dirname(HERE), "openapi.json"): document,
        os.path.join(HERE, "route_table.py"): route_table_source(),
    }
    for path, text in outputs.items():
        with open(path, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
