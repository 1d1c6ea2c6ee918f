"""Operator commands: python -m chalicelib.cli <command> --help"""

import argparse
import getpass
import json
import os
import sys

from pydantic import ValidationError

from . import bootstrap
from .domain.errors import DomainError
from .domain.states import OutboxStatus
from .messaging import background
from .schemas.auth import RegisterRequest
from .services import users


def create_admin(args) -> int:
    password = args.password or os.environ.get("ATS_ADMIN_PASSWORD") or getpass.getpass("Password: ")
    try:
        checked = RegisterRequest(email=args.email, password=password, name=args.name)
    except ValidationError as error:
        for item in error.errors():
            print(f"{'.'.join(map(str, item['loc']))}: {item['msg']}", file=sys.stderr)
        return 2
    user = users.create_admin(
        bootstrap.context(), email=checked.email, password=checked.password, name=checked.name or checked.email
    )
    # Without a broker, this process's delivery thread sends the welcome (with one, it is published
    # already): wait for it, as the thread dies with the process.
    background.wait_idle()
    print(json.dumps({"id": user.id, "email": user.email, "role": user.role}))
    return 0


def relay(args) -> int:
    import logging

    from .messaging import relay as outbox_relay

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.once:
        settings = bootstrap.settings()
        report = outbox_relay.relay_all(bootstrap.unit_of_work(settings), settings, limit=args.batch)
        print(
            json.dumps(
                {
                    "found": report.found,
                    "published": report.published,
                    "delivered": report.delivered,
                    "left": report.left,
                    "promoted": report.promoted,
                }
            )
        )
        return 0 if not report.left else 1
    outbox_relay.run_forever(bootstrap.settings, bootstrap.unit_of_work, interval=args.interval, limit=args.batch)
    return 0


def outbox(args) -> int:
    records = bootstrap.unit_of_work(bootstrap.settings()).outbox.list(status=args.status, limit=args.limit)
    for record in records:
        print(
            json.dumps(
                {
                    "id": record.id,
                    "type": record.type,
                    "status": record.status,
                    "attempts": record.attempts,
                    "last_error": record.last_error,
                    "created_at": record.created_at,
                    "updated_at": record.updated_at,
                    "deliver_after": record.deliver_after,
                    "retry_at": record.retry_at,
                }
            )
        )
    return 0


def create_tables(args) -> int:
    """Create the DynamoDB table (on-demand billing, a stream, the GSIs) unless it exists."""
    settings = bootstrap.settings()
    if settings.storage != "dynamodb":
        print("create-tables: nothing to do, ATS_STORAGE is not dynamodb (SQLite migrates itself)")
        return 0
    created = bootstrap.create_table(settings)
    where = settings.dynamodb_endpoint or f"AWS {settings.aws_region}"
    print(f"{'created' if created else 'exists'}: table {settings.table_name} at {where}")
    return 0


def reindex(args) -> int:
    """Derive every item's index keys and lookups again (once, after an upgrade that adds an index)."""
    from .storage.reindex import reindex as reindex_items

    settings = bootstrap.settings()
    updated = reindex_items(bootstrap.storage(settings).items)
    print("reindexed: " + ", ".join(f"{count} {kind}" for kind, count in updated.items()))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chalicelib.cli", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    tables = commands.add_parser("create-tables", help="create the DynamoDB table if it does not exist")
    tables.set_defaults(run=create_tables)

    reindex_cmd = commands.add_parser(
        "reindex", help="derive the index keys of every stored item again (after an upgrade that adds an index)"
    )
    reindex_cmd.set_defaults(run=reindex)

    admin = commands.add_parser("create-admin", help="create an admin account (the only way to get one)")
    admin.add_argument("--email", required=True)
    admin.add_argument("--name")
    admin.add_argument("--password", help="else $ATS_ADMIN_PASSWORD, else asked for")
    admin.set_defaults(run=create_admin)

    relay_cmd = commands.add_parser(
        "relay", help="publish the outbox's pending events and its due waiting ones (deliver them without a broker)"
    )
    relay_cmd.add_argument("--once", action="store_true", help="one pass, then exit (1 if some were left)")
    relay_cmd.add_argument("--interval", type=float, default=5.0, help="seconds between passes")
    relay_cmd.add_argument("--batch", type=int, default=100)
    relay_cmd.set_defaults(run=relay)

    outbox_cmd = commands.add_parser("outbox", help="list outbox events, one JSON line each")
    shown = outbox_cmd.add_mutually_exclusive_group()
    shown.add_argument(
        "--failed",
        dest="status",
        action="store_const",
        const=OutboxStatus.FAILED,
        help="events whose email could not be sent (the default)",
    )
    shown.add_argument("--status", choices=list(OutboxStatus))
    outbox_cmd.add_argument("--limit", type=int, default=100)
    outbox_cmd.set_defaults(run=outbox, status=OutboxStatus.FAILED)

    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except DomainError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
