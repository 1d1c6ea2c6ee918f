"""Bring stored items up to their entity's declaration: index keys and lookup attributes derived
again from the records (`python -m chalicelib.cli reindex`).

An entity that gains an index (users gained GSI1 for GET /users) finds its items written before
without its keys: they are in no list until rewritten. Reading an old item needs nothing (new
fields read as their defaults); listing it needs this, once, after the upgrade. Jobs stored before
hiring teams also get their team's member items (their creator, as recruiter), which put their
applications in the recruiter's list; jobs stored before the search indexes get their location and
department keys (GSI4, GSI5, by the item loop) and their title's word items (which q reads).
Sharded index partitions (APPS#<status>#<shard>, OUTBOX#<status>#<shard>) are index keys like any
other: items keyed by the unsharded partition of an older release are rewritten onto their shard.
Cover letters stored inline in their application move to their own item (COVER_LETTER), in one
transaction with the application's rewrite.
"""

from ..domain.models import Job
from .entities import (
    APPLICATION,
    COVER_LETTER,
    ENTITIES,
    JOB,
    WORD_ITEM_PREFIX,
    Entity,
    letter_item,
    member_item,
    member_key,
    word_items,
)
from .items import ConditionFailed, Delete, Item, ItemStore, Put, Update, equals, exists, key_of, missing


def derived_attributes(entity: Entity) -> tuple[str, ...]:
    """The attributes an entity's item derives from its record: index keys, lookups."""
    keys = tuple(f"{index}{part}" for index in entity.indexes for part in ("PK", "SK"))
    return (*keys, *entity.derived)


def reindex(items: ItemStore) -> dict[str, int]:
    """Rewrite what is stale of every item of every entity; the number of items updated, by kind."""
    updated: dict[str, int] = {}
    letters = 0
    for entity in ENTITIES:
        names = derived_attributes(entity)
        count = 0
        for item in items.scan(entity.kind):
            fresh = entity.item(entity.load(item))
            stale = {name: fresh.get(name) for name in names if item.get(name) != fresh.get(name)}
            if entity is APPLICATION and "cover_letter" in item:
                moved = _move_letter(items, item, stale)
                letters, count = letters + moved, count + moved
            elif stale:
                try:
                    items.write(Update((str(item["PK"]), str(item["SK"])), set=stale, condition=exists()))
                except ConditionFailed:
                    continue  # deleted since the scan
                count += 1
        updated[entity.kind] = count
    updated[COVER_LETTER.kind] = letters
    updated["TeamMember"], updated["JobWord"] = 0, 0
    for item in items.scan(JOB.kind):  # the items of a job's own, beside it: one pass over the jobs
        job = JOB.load(item)
        updated["TeamMember"] += _team_members(items, job)
        updated["JobWord"] += _job_words(items, job)
    return updated


def _move_letter(items: ItemStore, item: Item, stale: dict) -> int:
    """Move an application's inline cover letter to its own item, with its stale keys; 1 if moved
    (0: saved meanwhile, which moved it)."""
    letter = letter_item(APPLICATION.load(item))
    assert letter is not None
    key = (str(item["PK"]), str(item["SK"]))
    still_inline = equals("cover_letter", item["cover_letter"])
    try:
        items.transact([Update(key, set={**stale, "cover_letter": None}, condition=still_inline), Put(letter)])
    except ConditionFailed:
        return 0
    return 1


def _team_members(items: ItemStore, job: Job) -> int:
    """Write the member items the job's team lacks; how many."""
    count = 0
    for member in job.team:
        if items.get(member_key(job.id, member.user_id)) is None:
            try:
                items.write(Put(member_item(job.id, member), missing()))
            except ConditionFailed:
                continue  # written meanwhile
            count += 1
    return count


def _job_words(items: ItemStore, job: Job) -> int:
    """Write the word items the job lacks or holds stale, and remove those of words it no longer
    has; how many items were written or removed."""
    count = 0
    wanted = word_items(job)
    stored = {key_of(word): word for word in items.query(JOB.key(job)[0], prefix=WORD_ITEM_PREFIX)}
    for key, word in wanted.items():
        if stored.get(key) != word:
            items.write(Put(word))
            count += 1
    for key in stored.keys() - wanted.keys():
        items.write(Delete(key))
        count += 1
    return count
