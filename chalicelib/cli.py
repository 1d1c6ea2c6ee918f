"""Operator commands: python -m chalicelib.cli <command> --help"""
import argparse
import getpass
import json
import os
import sys

from pydantic import ValidationError

from .config import get_settings
from .domain.errors import DomainError
from .schemas import RegisterRequest
from .services import users
from .storage import unit_of_work


def create_admin(args) -> int:
    password = args.password or os.environ.get("ATS_ADMIN_PASSWORD") or getpass.getpass("Password: ")
    try:
        checked = RegisterRequest(email=args.email, password=password, name=args.name)
    except ValidationError as error:
        for item in error.errors():
            print(f"{'.'.join(map(str, item['loc']))}: {item['msg']}", file=sys.stderr)
        return 2
    settings = get_settings()
    user = users.create_admin(unit_of_work(settings), settings, email=checked.email,
                              password=checked.password, name=checked.name or checked.email)
    print(json.dumps({"id": user.id, "email": user.email, "role": user.role}))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chalicelib.cli", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    admin = commands.add_parser("create-admin", help="create an admin account (the only way to get one)")
    admin.add_argument("--email", required=True)
    admin.add_argument("--name")
    admin.add_argument("--password", help="else $ATS_ADMIN_PASSWORD, else asked for")
    admin.set_defaults(run=create_admin)

    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except DomainError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
