"""PynamoDB models of the single ATS table. Only the DynamoDB backend imports this module.

Key design: one table, generic key attributes, every entity builds its own keys. All GSIs
project ALL attributes and sort on the entity's ULID, so "newest first" is a descending Query.
An index key is set only on the items that belong in that index (sparse indexes): a deleted
job drops its GSI keys and so leaves every list.

| entity             | PK                        | SK             | read by key                                    |
|--------------------|---------------------------|----------------|------------------------------------------------|
| user               | USER#<id>                 | USER           | user by id (GetItem)                           |
| email guard        | EMAIL#<email_key>         | EMAIL          | user by email (GetItem); unique email          |
| job                | JOB#<id>                  | JOB            | job by id                                      |
| application        | APP#<id>                  | APP            | application by id                              |
| application guard  | APPLIED#<candidate>#<job> | APPLIED        | one application per candidate per job          |
| history entry      | APP#<application_id>      | HIST#<id>      | an application's history, oldest first         |
| outbox event       | EVENT#<id>                | EVENT          | event by id                                    |
| delivery           | DELIVERY#<event_id>       | TO#<recipient> | the ledger: one email per (event, recipient)   |
| counter            | COUNTER#<key>             | COUNTER        | a fixed-window counter (login throttling); TTL |
| idempotency record | IDEMPOTENCY#<key>         | IDEMPOTENCY    | the first response to an Idempotency-Key; TTL  |

| index | entity       | index PK (SK = id)              | access pattern                                 |
|-------|--------------|---------------------------------|------------------------------------------------|
| GSI1  | job          | JOBS#<status>                   | open (or any status) jobs newest first         |
| GSI2  | job          | OWNER#<owner_id>#<status>       | a recruiter's jobs by status                   |
| GSI1  | application  | JOBAPPS#<job_id>                | applications of a job                          |
| GSI2  | application  | JOBAPPS#<job_id>#<status>       | applications of a job by status                |
| GSI3  | application  | CANDAPPS#<candidate_id>         | a candidate's applications                     |
| GSI4  | application  | RECAPPS#<recruiter_id>          | a recruiter's applications                     |
| GSI5  | application  | RECAPPS#<recruiter_id>#<status> | a recruiter's applications by status           |
| GSI6  | application  | APPS#<status>                   | applications by status (admin; all = 7 merged) |
| GSI1  | outbox event | OUTBOX#<status>                 | events by status, oldest first                 |

Several entity types share GSI1 and GSI2 and the APP#<id> partition; the `type` discriminator
makes every item come back as its own class, and queries through a subclass filter on it.

Counters and idempotency records carry `ttl` (epoch seconds), the table's TimeToLive attribute
(set by create_table): DynamoDB deletes them some time after they expire. Deletion lags, so
the backend also compares the times itself and treats an expired item as absent.
"""

from typing import Any

from pynamodb.attributes import DiscriminatorAttribute, NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import MetaModel, Model

GSI_COUNT = 6


def _index_class(number: int) -> type:
    """GSI<n>: hash key GSI<n>PK, range key GSI<n>SK, all attributes projected."""
    meta = type("Meta", (), {"index_name": f"GSI{number}", "projection": AllProjection()})
    return type(
        f"GSI{number}",
        (GlobalSecondaryIndex,),
        {
            "Meta": meta,
            "pk": UnicodeAttribute(hash_key=True, attr_name=f"GSI{number}PK"),
            "sk": UnicodeAttribute(range_key=True, attr_name=f"GSI{number}SK"),
        },
    )


def build_models(
    *, table_name: str, region: str, host: str | None, connect_timeout: float, read_timeout: float, max_retries: int
) -> dict:
    """The model classes of one table at one endpoint (PynamoDB binds a model class to a table)."""
    table_name_, region_, host_ = table_name, region, host
    connect_timeout_, read_timeout_, max_retries_ = connect_timeout, read_timeout, max_retries

    class TableMeta:
        table_name = table_name_
        region = region_
        host = host_
        billing_mode = "PAY_PER_REQUEST"
        stream_view_type = "NEW_AND_OLD_IMAGES"  # for the outbox relay's stream function
        connect_timeout_seconds = connect_timeout_
        read_timeout_seconds = read_timeout_
        max_retry_attempts = max_retries_
        max_pool_connections = 32  # the threads of one process share one client

    namespace = {
        "__module__": __name__,
        "__qualname__": "Item",
        "__doc__": "Every item: the keys, the generic GSI keys and the type discriminator.",
        "Meta": TableMeta,
        "pk": UnicodeAttribute(hash_key=True, attr_name="PK"),
        "sk": UnicodeAttribute(range_key=True, attr_name="SK"),
        "kind": DiscriminatorAttribute(attr_name="type"),
        # On the base class, so create_table enables TTL on it; set only on items that expire.
        "ttl": TTLAttribute(null=True, attr_name="ttl"),
    }
    for number in range(1, GSI_COUNT + 1):
        namespace[f"gsi{number}"] = _index_class(number)()
        namespace[f"gsi{number}pk"] = UnicodeAttribute(null=True, attr_name=f"GSI{number}PK")
        namespace[f"gsi{number}sk"] = UnicodeAttribute(null=True, attr_name=f"GSI{number}SK")
    # Any: a class made by a call, which a type checker cannot follow.
    Item: Any = MetaModel("Item", (Model,), namespace)

    class UserItem(Item, discriminator="User"):
        id = UnicodeAttribute()
        email = UnicodeAttribute()
        name = UnicodeAttribute()
        role = UnicodeAttribute()
        password_hash = UnicodeAttribute()
        created_at = UnicodeAttribute()

    class EmailGuard(Item, discriminator="EmailGuard"):
        user_id = UnicodeAttribute()

    class JobItem(Item, discriminator="Job"):
        id = UnicodeAttribute()
        owner_id = UnicodeAttribute()
        title = UnicodeAttribute()
        title_key = UnicodeAttribute()  # title.casefold(): q is a substring of it
        description = UnicodeAttribute(null=True)
        location = UnicodeAttribute(null=True)
        location_key = UnicodeAttribute(null=True)  # location.casefold(): the filter ignores case
        department = UnicodeAttribute(null=True)
        department_key = UnicodeAttribute(null=True)  # department.casefold()
        employment_type = UnicodeAttribute(null=True)
        status = UnicodeAttribute()
        # A plain number, not VersionAttribute: the domain owns the version and the backend
        # writes on the condition version = entity.version - 1 (VersionAttribute pitfalls #1247).
        version = NumberAttribute()
        created_at = UnicodeAttribute()
        updated_at = UnicodeAttribute()
        deleted_at = UnicodeAttribute(null=True)

    class ApplicationItem(Item, discriminator="Application"):
        id = UnicodeAttribute()
        job_id = UnicodeAttribute()
        candidate_id = UnicodeAttribute()
        recruiter_id = UnicodeAttribute()
        status = UnicodeAttribute()
        cover_letter = UnicodeAttribute(null=True)
        version = NumberAttribute()
        created_at = UnicodeAttribute()
        updated_at = UnicodeAttribute()

    class ApplicationGuard(Item, discriminator="ApplicationGuard"):
        application_id = UnicodeAttribute()

    class HistoryItem(Item, discriminator="History"):
        id = UnicodeAttribute()
        application_id = UnicodeAttribute()
        from_status = UnicodeAttribute(null=True)
        to_status = UnicodeAttribute()
        actor_id = UnicodeAttribute()
        reason = UnicodeAttribute(null=True)
        created_at = UnicodeAttribute()

    class OutboxItem(Item, discriminator="Event"):
        id = UnicodeAttribute()
        event_type = UnicodeAttribute()
        payload = UnicodeAttribute()  # JSON text, as SQLite keeps it
        status = UnicodeAttribute()
        attempts = NumberAttribute()
        last_error = UnicodeAttribute(null=True)
        created_at = UnicodeAttribute()
        updated_at = UnicodeAttribute()

    class DeliveryItem(Item, discriminator="Delivery"):
        event_id = UnicodeAttribute()
        recipient = UnicodeAttribute()
        state = UnicodeAttribute()  # sending | sent
        lease_until = NumberAttribute()
        updated_at = UnicodeAttribute()

    class CounterItem(Item, discriminator="Counter"):
        hits = NumberAttribute()  # not `count`: Model.count is a classmethod
        ends_at = NumberAttribute()  # epoch seconds when the window ends

    class IdempotencyItem(Item, discriminator="Idempotency"):
        fingerprint = UnicodeAttribute()
        token = UnicodeAttribute(null=True)  # the claim's holder: only it completes or releases the claim
        state = UnicodeAttribute()  # pending | done
        status = NumberAttribute(null=True)
        body = UnicodeAttribute(null=True)
        headers = UnicodeAttribute(null=True)  # JSON text
        lease_until = NumberAttribute()
        expires_at = NumberAttribute()  # exact; `ttl` is whole seconds and its deletion lags

    # One connection (one botocore client) for the whole table, instead of one per class.
    connection = Item._get_connection()
    models = dict(
        Item=Item,
        UserItem=UserItem,
        EmailGuard=EmailGuard,
        JobItem=JobItem,
        ApplicationItem=ApplicationItem,
        ApplicationGuard=ApplicationGuard,
        HistoryItem=HistoryItem,
        OutboxItem=OutboxItem,
        DeliveryItem=DeliveryItem,
        CounterItem=CounterItem,
        IdempotencyItem=IdempotencyItem,
    )
    for model in models.values():
        model._connection = connection
    return models
