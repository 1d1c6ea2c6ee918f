"""Each stored entity declared once: its item's key, its index keys and its attributes, all built
from the entity's own dataclass fields (Alex DeBrie's single-table design; ElectroDB's entities).

Key design: one table (or, on SQLite, one items table) with generic key attributes. Every GSI
sorts on the entity's ULID, so "newest first" is a descending query; an index key is set only
on the items that belong in that index (sparse): a deleted job drops its GSI keys and so leaves
every list. This is the layout stored on DynamoDB since the first release.

| entity             | PK                        | SK             | read by key                                    |
|--------------------|---------------------------|----------------|------------------------------------------------|
| user               | USER#<id>                 | USER           | user by id; carries its tokens' revocation     |
| email guard        | EMAIL#<email_key>         | EMAIL          | user by email; one account per email           |
| session            | SESSION#<id>              | SESSION        | a login's refresh-token family; TTL            |
| refresh token      | REFRESH#<sha256>          | REFRESH        | a refresh token by its hash; TTL               |
| reset token        | RESET#<sha256>            | RESET          | a password reset token by its hash; TTL        |
| verification token | VERIFY#<sha256>           | VERIFY         | an email verification token by its hash; TTL   |
| job                | JOB#<id>                  | JOB            | job by id                                      |
| application        | APP#<id>                  | APP            | application by id                              |
| cover letter       | APP#<application_id>      | LETTER         | an application's letter, read with it (after   |
|                    |                           |                | HIST#~: out of a read of APP..HIST#~)          |
| application guard  | APPLIED#<candidate>#<job> | APPLIED        | one application per candidate per job          |
| history entry      | APP#<application_id>      | HIST#<id>      | an application's history, oldest first         |
| stage visit        | APP#<application_id>      | VISIT#<id>     | an application's time in each stage            |
| team member        | JOB#<job_id>              | MEMBER#<user>  | a job's team, one item a member (and GSI1)     |
| job word           | JOB#<job_id>              | WORD#<prefix>  | a title word's prefix, for q (GSI3)            |
| stage counter      | FUNNEL#<job_id>#<shard>   | STAGE#<stage>  | a stage's funnel counters, on one shard        |
| outcome counter    | FUNNEL#<job_id>#<shard>   | OUTCOMES       | a job's outcomes and time to hire, one shard   |
| rejection reason   | REASON#<id>               | REASON         | an admin's reason (or a changed default)       |
| pipeline template  | TEMPLATE#<id>             | TEMPLATE       | a named pipeline for new jobs                  |
| outbox event       | EVENT#<id>                | EVENT          | event by id                                    |
| delivery           | DELIVERY#<event_id>       | TO#<recipient> | the ledger: one email per (event, recipient)   |
| counter            | COUNTER#<key>             | COUNTER        | a fixed-window counter (login throttling); TTL |
| idempotency record | IDEMPOTENCY#<key>         | IDEMPOTENCY    | the first response to an Idempotency-Key; TTL  |

| index | entity       | index PK (SK = id)              | access pattern                                 |
|-------|--------------|---------------------------------|------------------------------------------------|
| GSI1  | user         | USERS#<role>#<active|inactive>  | users by role and state (admin)                |
| GSI1  | job          | JOBS#<status>                   | open (or any status) jobs newest first         |
| GSI2  | job          | OWNER#<owner_id>#<status>       | a recruiter's jobs by status                   |
| GSI1  | application  | JOBAPPS#<job_id>                | applications of a job                          |
| GSI2  | application  | JOBAPPS#<job_id>#<status>       | applications of a job by status                |
| GSI3  | application  | CANDAPPS#<candidate_id>         | a candidate's applications                     |
| GSI3  | job word     | WORDS#<status>#<word prefix>    | open (or any status) jobs by a title word      |
| GSI4  | job          | LOCATION#<status>#<location key>| jobs by location                               |
| GSI4  | application  | ALLAPPS#<shard>                 | every application newest first (admin): 8      |
|       |              |                                 | shards merged (RECAPPS#<recruiter_id> before   |
|       |              |                                 | teams: `cli reindex` rewrites it)              |
| GSI5  | job          | DEPARTMENT#<status>#<dept. key> | jobs by department (before teams, applications |
|       |              |                                 | had RECAPPS#<recruiter_id>#<status> here)      |
| GSI6  | application  | APPS#<status>#<shard>           | applications by status (admin): 8 shards       |
|       |              |                                 | merged                                         |
| GSI1  | outbox event | OUTBOX#<status>#<shard>         | events by status, oldest first (8 shards       |
|       |              |                                 | merged)                                        |
| GSI1  | outbox event | OUTBOX#scheduled#<shard>        | scheduled events by deliver_after (SK =        |
|       |              |                                 | <deliver_after>#<id>): the due ones, a range   |
| GSI1  | outbox event | OUTBOX#retrying#<shard>         | events to try again by retry_at (SK =          |
|       |              |                                 | <retry_at>#<id>): the due ones, a range        |
| GSI1  | team member  | MEMBEROF#<user_id> (SK job id)  | the jobs a user is on the team of              |
| GSI1  | reason       | REASONS                         | rejection reasons, oldest first                |
| GSI1  | template     | TEMPLATES                       | pipeline templates, oldest first               |

<shard> is crc32(id) % 8 (INDEX_SHARDS, on every driver): a partition that would take the writes
of the whole system is spread over 8, and its lists query each shard (fanout.py: a share of the
page each, more only where the page needs it). Every index projects ALL: the long text (cover
letters) is kept out of the indexed items instead, as a deployed GSI's projection cannot change.

Searches. A location or department key is the value normalised (lookup_key: NFKC, casefolded,
trimmed; a hash past LOOKUP_KEY_BYTES, far below the 2 KB partition-key limit). A job has a small
word item per distinct prefix (WORD_PREFIX characters) of its title's words (the first
MAX_TITLE_WORDS), carrying the title's words and the job's location and department keys: q reads
one word partition and checks the rest of q on the item itself. Word items are written, moved
and removed with their job, in its transaction (a title, status, location or department change,
a delete).

A job's funnel is read by one batch get of its counter items, stages x shards plus shards (the
item store's write_shards: 1 on SQLite, 8 on DynamoDB), whatever its number of applications;
each change adds to the counters of one shard, picked at random, in its own transaction.

The ledger, counters and idempotency records are declared by the stores that own them
(storage/stores.py); they write at once, outside any unit of work.

Write capacity (`make bench-capacity`, bench/capacity.py): the busiest partition of each index
and partition pattern, in WCU/s and as a share of DynamoDB's 1 000 WCU/s partition limit, over a
second of each load played through the services: a viral job (167 applies/s to one job, 20
status changes/s) and a million-application tenant (278 applies/s and 278 status changes/s over
1 000 jobs of 100 recruiters), every cover letter 10 000 characters; events published to the
broker and delivered. Transactions count twice, ConditionChecks included. Every row is under 50 %
(tests/unit/test_capacity.py measures it again):

| index | partition                | viral job WCU/s | 1M-application tenant WCU/s |
|-------|--------------------------|-----------------|-----------------------------|
| table | APP#<id>                 | 26 (2.6 %)      | 26 (2.6 %)                  |
| table | APPLIED#<id>#<id>        | 2 (0.2 %)       | 2 (0.2 %)                   |
| table | DELIVERY#<id>            | 4 (0.4 %)       | 4 (0.4 %)                   |
| table | EVENT#<id>               | 4 (0.4 %)       | 4 (0.4 %)                   |
| table | FUNNEL#<id>#<shard>      | 70 (7.0 %)      | 8 (0.8 %)                   |
| table | JOB#<id>                 | 374 (37.4 %)    | 8 (0.8 %)                   |
| table | USER#<id>                | 40 (4.0 %)      | 22 (2.2 %)                  |
| GSI1  | JOBAPPS#<id>             | 187 (18.7 %)    | 4 (0.4 %)                   |
| GSI1  | OUTBOX#pending#<shard>   | 58 (5.8 %)      | 174 (17.4 %)                |
| GSI1  | OUTBOX#published#<shard> | 58 (5.8 %)      | 174 (17.4 %)                |
| GSI1  | OUTBOX#sent#<shard>      | 29 (2.9 %)      | 87 (8.7 %)                  |
| GSI2  | JOBAPPS#<id>#applied     | 187 (18.7 %)    | 4 (0.4 %)                   |
| GSI2  | JOBAPPS#<id>#screening   | 20 (2.0 %)      | 3 (0.3 %)                   |
| GSI3  | CANDAPPS#<id>            | 1 (0.1 %)       | 1 (0.1 %)                   |
| GSI4  | ALLAPPS#<shard>          | 27 (2.7 %)      | 80 (8.0 %)                  |
| GSI6  | APPS#applied#<shard>     | 27 (2.7 %)      | 80 (8.0 %)                  |
| GSI6  | APPS#screening#<shard>   | 10 (1.0 %)      | 46 (4.6 %)                  |
"""

import dataclasses
import functools
import hashlib
import json
import re
import unicodedata
import zlib
from collections.abc import Callable, Mapping
from typing import Any, Generic, NamedTuple, TypeVar

import orjson

from ..domain.models import Application, HistoryEntry, Job, StageVisit, User
from ..domain.pipeline import Stage
from ..domain.rejection import PipelineTemplate, RejectionReason
from ..domain.sessions import OneTimeToken, RefreshToken, Session
from ..domain.states import WAITING
from ..domain.team import TeamMember
from .items import NOTHING, Item, Key, Value, key_of, new_item
from .records import OutboxRecord

T = TypeVar("T")

IndexKey = tuple[str, str] | None  # (index PK, index SK), or None: not in that index


def stored_fields(record: type[Any]) -> tuple[str, ...]:
    """The fields that are the record's state: of a dataclass (an entity of the domain), those it
    compares by (not its pending events); of a NamedTuple (a record of storage's own), all."""
    if dataclasses.is_dataclass(record):
        return tuple(f.name for f in dataclasses.fields(record) if f.compare)
    return record._fields


def _defaults(record: type[Any]) -> tuple[dict[str, Any], dict[str, Callable[[], Any]]]:
    """The record's default values and default factories, by field (a NamedTuple has no factories)."""
    if not dataclasses.is_dataclass(record):
        return record._field_defaults, {}
    fields = dataclasses.fields(record)
    return (
        {f.name: f.default for f in fields if f.default is not dataclasses.MISSING},
        {f.name: f.default_factory for f in fields if f.default_factory is not dataclasses.MISSING},
    )


# Codec and Entity are a NamedTuple and a plain class, not frozen dataclasses: a cold start makes
# each class in a tenth of the time (a Lambda's first request pays for every class it imports).


class Codec(NamedTuple):
    """How a field that is not a string or a number is kept: as text."""

    encode: Callable[[Any], Value]
    decode: Callable[[Value], Any]


def _json_loads(text: Value) -> Any:
    """json.loads's value of the text, by orjson where it reads it (a quarter of the instructions:
    an application's or a user's load). It refuses some of what json.dumps writes (NaN, a lone
    surrogate, an integer past 64 bits): json.loads reads that."""
    try:
        return orjson.loads(str(text))
    except orjson.JSONDecodeError:
        return json.loads(str(text))


JSON = Codec(encode=json.dumps, decode=_json_loads)


def _json_list(load: Callable[[dict], Any]) -> Codec:
    """A list of small frozen records (each with as_dict), kept as JSON text.

    Decoding is memoised on the text: a page of 20 jobs decoded 120 stages and 20 teams a request,
    half of a list's time, though a job's pipeline changes seldom. A hit hands out a new list of the
    same frozen records, so a caller that edits its list changes no other's."""

    @functools.lru_cache(maxsize=4096)
    def decoded(text: str) -> tuple:
        return tuple(load(data) for data in orjson.loads(text))

    return Codec(
        encode=lambda records: orjson.dumps([record.as_dict() for record in records]).decode(),
        decode=lambda text: list(decoded(str(text))),
    )


STAGES, TEAM = _json_list(Stage.from_dict), _json_list(TeamMember.from_dict)


class Entity(Generic[T]):
    """One kind of record as items: its key, indexes and attributes come from its fields."""

    __slots__ = (
        "_encoders",
        "_index_attributes",
        "_item",
        "_load",
        "attributes",
        "codecs",
        "derived",
        "indexes",
        "key",
        "kind",
        "record",
        "renamed",
    )

    def __init__(
        self,
        kind: str,  # the discriminator, kept in each item's "type"
        record: type[T],
        key: Callable[[T], Key],
        indexes: Mapping[str, Callable[[T], IndexKey]] = NOTHING,
        derived: Mapping[str, Callable[[T], Value | None]] = NOTHING,  # lookup attributes
        renamed: Mapping[str, str] = NOTHING,  # field -> attribute, where they differ
        codecs: Mapping[str, Codec] = NOTHING,
        apart: tuple[str, ...] = (),  # fields kept in items of their own, out of this one (still read from it)
    ):
        self.kind, self.record, self.key = kind, record, key
        self.indexes, self.derived, self.renamed, self.codecs = indexes, derived, renamed, codecs
        # (field, attribute) of every stored field
        self.attributes = tuple((name, renamed.get(name, name)) for name in stored_fields(record))
        # (field, attribute, its codec's encode or None) of every stored field
        self._encoders = tuple(
            (name, attribute, codecs[name].encode if name in codecs else None)
            for name, attribute in self.attributes
            if name not in apart
        )
        # (GSI<n>PK, GSI<n>SK, its key function) of every index
        self._index_attributes = tuple((f"{index}PK", f"{index}SK", key) for index, key in indexes.items())
        # Both written on first use: a cold start builds the items and loads of one entity, if any.
        self._item: Callable[[T], Item] | None = None
        self._load: Callable[[Item], T] | None = None

    def item(self, record: T) -> Item:
        build = self._item
        if build is None:  # two threads may both write it: the same function
            build = self._item = _itemizer(self)
        return build(record)

    def load(self, item: Item) -> T:
        load = self._load
        if load is None:  # two threads may both build it: the same function
            load = self._load = _loader(self.record, self.attributes, self.codecs)
        return load(item)


def _itemizer(entity: Entity[T]) -> Callable[[T], Item]:
    """The entity's `item(record)` written out once, as _loader writes its load: a write builds an
    item per record it stages, and a loop over the fields with getattr took twice the time. A
    field that is a string or a number is stored as it is, without a call."""
    namespace: dict[str, Any] = {"key": entity.key, "kind": entity.kind, "plain_types": _PLAIN_TYPES, "plain": _plain}
    lines = ["def item(record):", "    pk, sk = key(record)", '    item = {"PK": pk, "SK": sk, "type": kind}']
    for name, attribute, encode in entity._encoders:
        lines.append(f"    value = record.{name}")  # names are the record's own fields
        if encode is not None:
            namespace[f"encode_{name}"] = encode
            lines.append(f"    if value is not None: item[{attribute!r}] = encode_{name}(value)")
        else:
            lines.append(
                f"    if value is not None: item[{attribute!r}] = value if type(value) in plain_types else plain(value)"
            )
    for number, (attribute, derive) in enumerate(entity.derived.items()):
        namespace[f"derive_{number}"] = derive
        lines.append(f"    value = derive_{number}(record)")
        lines.append(f"    if value is not None: item[{attribute!r}] = value")
    for number, (pk_attribute, sk_attribute, index_key) in enumerate(entity._index_attributes):
        namespace[f"index_{number}"] = index_key
        lines.append(f"    keys = index_{number}(record)")
        lines.append(f"    if keys is not None: item[{pk_attribute!r}], item[{sk_attribute!r}] = keys")
    lines.append("    return item")
    exec("\n".join(lines) + "\n", namespace)  # attributes are quoted by repr
    return namespace["item"]


def _loader(
    record: type[T], attributes: tuple[tuple[str, str], ...], codecs: Mapping[str, Codec]
) -> Callable[[Item], T]:
    """`record(field=item.get(attribute), ...)` written out once per entity, as dataclasses writes
    an __init__: a list page loads a record per item, and this runs in 60 % of a loop's time."""
    namespace: dict[str, Any] = {"record": record}
    arguments = []
    defaults, factories = _defaults(record)
    for name, attribute in attributes:
        # An attribute an item lacks (an item written before its field existed) takes the field's
        # default, so a new field with a default needs no migration of what is stored.
        if name in defaults:
            namespace[f"default_{name}"] = defaults[name]
            absent = f"default_{name}"
        elif name in factories:
            namespace[f"default_{name}"] = factories[name]
            absent = f"default_{name}()"
        else:
            absent = "None"
        if name in codecs:
            namespace[f"decode_{name}"] = codecs[name].decode
            arguments.append(f"{name}={absent} if (value := get({attribute!r})) is None else decode_{name}(value)")
        elif absent.endswith("()"):
            arguments.append(f"{name}={absent} if (value := get({attribute!r})) is None else value")
        else:  # items hold no None: an attribute is there, or absent
            arguments.append(f"{name}=get({attribute!r}, {absent})")
    source = f"def load(item):\n    get = item.get\n    return record({', '.join(arguments)})\n"
    exec(source, namespace)  # names are the record's own fields; attributes are quoted by repr
    return namespace["load"]


_PLAIN_TYPES = (str, int, float)


def _plain(value: Any) -> Value:
    """Enum members as their plain values, as every driver hands them back."""
    return value if type(value) in _PLAIN_TYPES else value.value if hasattr(value, "value") else value


LOOKUP_KEY_BYTES = 512  # a longer normalised value is keyed by its hash
WORD_PREFIX = 3  # characters of a title word its index partition is named by
MAX_TITLE_WORDS = 10  # word prefixes indexed per title: a bounded write (a title holds up to 200 characters)
_WORD = re.compile(r"\w+")


def normalised(value: str) -> str:
    """The text as searches compare it: NFKC (full-width, ligatures), casefolded, trimmed."""
    return unicodedata.normalize("NFKC", value).casefold().strip()


def lookup_key(value: str | None) -> str | None:
    """The key a whole-value filter (location, department) looks a value up by."""
    if value is None:
        return None
    key = normalised(value)
    if len(key.encode()) > LOOKUP_KEY_BYTES:
        return "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return key


def words(text: str) -> list[str]:
    """The words of a text (runs of letters, digits and _), normalised, in order."""
    return _WORD.findall(normalised(text))


def title_words(title: str) -> str:
    """The title's words, each after a space: ` w` is in it where a word begins with w."""
    return "".join(f" {word}" for word in words(title))


def word_prefixes(title: str) -> list[str]:
    """The index prefixes of the title's words: those of WORD_PREFIX characters or more, cut to
    it, each once, the first MAX_TITLE_WORDS."""
    found = dict.fromkeys(word[:WORD_PREFIX] for word in words(title) if len(word) >= WORD_PREFIX)
    return list(found)[:MAX_TITLE_WORDS]


# --- Keys -----------------------------------------------------------------------------------------


def alone_in_partition(kind: str) -> Callable[[str], Key]:
    """The key of an item that is the only one of its partition: (KIND#<id>, KIND)."""
    prefix = f"{kind}#"
    return lambda item_id: (prefix + item_id, kind)


user_key = alone_in_partition("USER")
email_guard_key = alone_in_partition("EMAIL")
job_key = alone_in_partition("JOB")
application_key = alone_in_partition("APP")
reason_key = alone_in_partition("REASON")
template_key = alone_in_partition("TEMPLATE")
event_key = alone_in_partition("EVENT")


def application_guard_key(candidate_id: str, job_id: str) -> Key:
    return f"APPLIED#{candidate_id}#{job_id}", "APPLIED"


HISTORY_PREFIX = "HIST#"
HISTORY_END = "HIST$"  # the least sort key past every HIST#... ("$" follows "#")
VISIT_PREFIX = "VISIT#"
MEMBER_PREFIX = "MEMBER#"
WORD_ITEM_PREFIX = "WORD#"


def history_key(application_id: str, entry_id: str) -> Key:
    return application_key(application_id)[0], HISTORY_PREFIX + entry_id


def visit_key(application_id: str, visit_id: str) -> Key:
    return application_key(application_id)[0], VISIT_PREFIX + visit_id


def member_key(job_id: str, user_id: str) -> Key:
    return job_key(job_id)[0], MEMBER_PREFIX + user_id


def word_key(job_id: str, prefix: str) -> Key:
    return job_key(job_id)[0], WORD_ITEM_PREFIX + prefix


def member_of_partition(user_id: str) -> str:
    return f"MEMBEROF#{user_id}"


def stage_counter_key(job_id: str, shard: int, stage_id: str) -> Key:
    return f"FUNNEL#{job_id}#{shard}", f"STAGE#{stage_id}"


def outcome_counter_key(job_id: str, shard: int) -> Key:
    return f"FUNNEL#{job_id}#{shard}", "OUTCOMES"


# The "all X by status" partitions (GSI6 APPS#<status>, GSI1 OUTBOX#<status>) take the writes of
# the whole system: each is spread over INDEX_SHARDS partitions, and read by a query of each, merged
# (storage/fanout.py). A fixed count, the same on every driver: an item's keys are a function of its
# record alone, so one declaration serves every store (SQLite reads 8 small ranges instead of one).
INDEX_SHARDS = 8


def index_shard(item_id: str) -> int:
    """The shard of an item in a sharded index, from its id alone: a change of status moves the item
    to the same shard of another status, never to another shard."""
    return zlib.crc32(item_id.encode()) % INDEX_SHARDS


def sharded(partition: str, item_id: str) -> str:
    return f"{partition}#{index_shard(item_id)}"


def shards_of(partition: str) -> list[str]:
    """Every shard's partition of a sharded index partition: what one list of it queries."""
    return [f"{partition}#{shard}" for shard in range(INDEX_SHARDS)]


def outbox_partition(status: str) -> str:
    return f"OUTBOX#{status}"


def applications_partition(status: str | None = None) -> str:
    """GSI6's partition of the applications of a status; None: GSI4's, of every status."""
    return "ALLAPPS" if status is None else f"APPS#{status}"


def outbox_index_key(status: str, event_id: str, due_at: str | None = None) -> tuple[str, str]:
    """An outbox event's GSI1 key: by status (on the event's shard), oldest first; a waiting event
    (scheduled, retrying) sorts by when it is due, so the events due by a moment are one range of
    each shard (`due_by`), read without the rest."""
    partition = sharded(outbox_partition(status), event_id)
    if status in WAITING:
        return partition, f"{due_at}#{event_id}"
    return partition, event_id


def due_by(moment: str) -> str:
    """The sort key every scheduled event due at or before `moment` sorts below ('~' follows any id)."""
    return f"{moment}#~"


session_key = alone_in_partition("SESSION")
refresh_key = alone_in_partition("REFRESH")


def one_time_key(purpose: str, token_hash: str) -> Key:
    kind = purpose.upper()  # RESET, VERIFY
    return f"{kind}#{token_hash}", kind


def users_partition(role: str, active: bool) -> str:
    return f"USERS#{role}#{'active' if active else 'inactive'}"


# --- The entities ---------------------------------------------------------------------------------


def _live(job: Job, pk: str) -> IndexKey:
    """A deleted job leaves the (sparse) list indexes."""
    return None if job.deleted_at is not None else (pk, job.id)


def _by_value(job: Job, name: str, value: str | None) -> IndexKey:
    """A job's key in the index of a whole-value filter; none without a value."""
    key = lookup_key(value)
    return None if key is None else _live(job, f"{name}#{job.status}#{key}")


def words_partition(status: str, prefix: str) -> str:
    return f"WORDS#{status}#{prefix}"


def location_partition(status: str, location: str) -> str:
    return f"LOCATION#{status}#{lookup_key(location)}"


def department_partition(status: str, department: str) -> str:
    return f"DEPARTMENT#{status}#{lookup_key(department)}"


USER: Entity[User] = Entity(
    "User",
    User,
    key=lambda u: user_key(u.id),
    indexes={"GSI1": lambda u: (users_partition(u.role, u.active), u.id)},
    derived={"name_key": lambda u: u.name.casefold(), "email_key": lambda u: u.email_key},  # q's prefixes
    codecs={"revoked_sessions": JSON},
)

JOB: Entity[Job] = Entity(
    "Job",
    Job,
    key=lambda j: job_key(j.id),
    indexes={
        "GSI1": lambda j: _live(j, f"JOBS#{j.status}"),
        "GSI2": lambda j: _live(j, f"OWNER#{j.owner_id}#{j.status}"),
        "GSI4": lambda j: _by_value(j, "LOCATION", j.location),
        "GSI5": lambda j: _by_value(j, "DEPARTMENT", j.department),
    },
    # Normalised copies the filters compare with (q: each word begins a word of title_words).
    # stage_ids: what a move's transaction checks its stage is still in (`contains`), without
    # reading the job.
    derived={
        "title_words": lambda j: title_words(j.title),
        "location_key": lambda j: lookup_key(j.location),
        "department_key": lambda j: lookup_key(j.department),
        "stage_ids": lambda j: " ".join(stage.id for stage in j.stages),
    },
    codecs={"stages": STAGES, "team": TEAM},
)

APPLICATION: Entity[Application] = Entity(
    "Application",
    Application,
    key=lambda a: application_key(a.id),
    indexes={
        "GSI1": lambda a: (f"JOBAPPS#{a.job_id}", a.id),
        "GSI2": lambda a: (f"JOBAPPS#{a.job_id}#{a.status}", a.id),
        "GSI3": lambda a: (f"CANDAPPS#{a.candidate_id}", a.id),
        # Every application, whatever its status: the admin's list of all reads 8 shards, not 7 x 8.
        "GSI4": lambda a: (sharded(applications_partition(), a.id), a.id),
        "GSI6": lambda a: (sharded(applications_partition(a.status), a.id), a.id),
    },
    codecs={"entered_stages": JSON},
    # The cover letter (up to 10 000 characters) in an item of its own (COVER_LETTER): out of the
    # five index copies every status change rewrites. Items of older releases hold it inline, and
    # read so until their next save (or `cli reindex`) moves it.
    apart=("cover_letter",),
)


class CoverLetter(NamedTuple):
    application_id: str
    text: str


# SK "LETTER" sorts after HISTORY_END: a read of an application with its history (SK "APP" up to
# HISTORY_END) does not read the letter.
LETTER_SK = "LETTER"


def letter_key(application_id: str) -> Key:
    return application_key(application_id)[0], LETTER_SK


COVER_LETTER: Entity[CoverLetter] = Entity("CoverLetter", CoverLetter, key=lambda c: letter_key(c.application_id))


def letter_item(application: Application) -> Item | None:
    """The item of the application's cover letter; None if it has none."""
    if application.cover_letter is None:
        return None
    return COVER_LETTER.item(CoverLetter(application.id, application.cover_letter))


HISTORY: Entity[HistoryEntry] = Entity("History", HistoryEntry, key=lambda h: history_key(h.application_id, h.id))

VISIT: Entity[StageVisit] = Entity("StageVisit", StageVisit, key=lambda v: visit_key(v.application_id, v.id))

REJECTION_REASON: Entity[RejectionReason] = Entity(
    "RejectionReason",
    RejectionReason,
    key=lambda r: reason_key(r.id),
    indexes={"GSI1": lambda r: ("REASONS", r.id)},
)

PIPELINE_TEMPLATE: Entity[PipelineTemplate] = Entity(
    "PipelineTemplate",
    PipelineTemplate,
    key=lambda t: template_key(t.id),
    indexes={"GSI1": lambda t: ("TEMPLATES", t.id)},
    codecs={"stages": STAGES},
)

EVENT: Entity[OutboxRecord] = Entity(
    "Event",
    OutboxRecord,
    key=lambda e: event_key(e.id),
    indexes={"GSI1": lambda e: outbox_index_key(e.status, e.id, e.due_at)},
    renamed={"type": "event_type"},  # "type" is every item's discriminator
    codecs={"payload": JSON},
)


SESSION: Entity[Session] = Entity(
    "Session", Session, key=lambda s: session_key(s.id), derived={"ttl": lambda s: s.expires_at}
)

REFRESH_TOKEN: Entity[RefreshToken] = Entity(
    "RefreshToken", RefreshToken, key=lambda r: refresh_key(r.hash), derived={"ttl": lambda r: r.expires_at}
)

ONE_TIME_TOKEN: Entity[OneTimeToken] = Entity(
    "OneTimeToken",
    OneTimeToken,
    key=lambda t: one_time_key(t.purpose, t.hash),
    derived={"ttl": lambda t: t.expires_at},
)

# Every entity, for the commands that go over all stored items (cli reindex).
ENTITIES: tuple[Entity, ...] = (
    USER,
    JOB,
    APPLICATION,
    HISTORY,
    VISIT,
    EVENT,
    SESSION,
    REFRESH_TOKEN,
    ONE_TIME_TOKEN,
    REJECTION_REASON,
    PIPELINE_TEMPLATE,
)


# Uniqueness guards: an item per unique value, written with `missing()` beside its entity.


def email_guard(user: User) -> Item:
    return new_item("EmailGuard", email_guard_key(user.email_key), user_id=user.id)


def application_guard(application: Application) -> Item:
    key = application_guard_key(application.candidate_id, application.job_id)
    return new_item("ApplicationGuard", key, application_id=application.id)


# A job's team members also as items of their own, in the index of each member's jobs: the jobs
# whose applications a recruiter's list covers. Written with the job's team, in its transaction.
def member_item(job_id: str, member: TeamMember) -> Item:
    item = new_item("TeamMember", member_key(job_id, member.user_id), job_id=job_id, **member.as_dict())
    item["GSI1PK"], item["GSI1SK"] = member_of_partition(member.user_id), job_id
    return item


# A job's word items: one per word prefix of its title, in the index of its status and prefix, with
# what q, location and department check on it (no job read for what does not match). Small: a
# create writes a few 1 KB units, not a job's size each. None for a deleted job.
def word_items(job: Job) -> dict[Key, Item]:
    if job.deleted_at is not None:
        return {}
    copies = {
        "title_words": title_words(job.title),
        "location_key": lookup_key(job.location),
        "department_key": lookup_key(job.department),
    }
    found = {}
    for prefix in word_prefixes(job.title):
        item = new_item("JobWord", word_key(job.id, prefix), **copies)
        item["GSI3PK"], item["GSI3SK"] = words_partition(job.status, prefix), job.id
        found[key_of(item)] = item
    return found
