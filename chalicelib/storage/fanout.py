"""One list over the shards of a sharded index partition (entities.INDEX_SHARDS), merged in order.

A page of `limit` from n partitions would read n x limit items if each were asked for a whole
page (8 shards x 21 for an admin's page). Each is first asked for its
share (limit / n, and one more), side by side; a partition is asked again, from where it stopped,
only while what it may still hold could be in the page (its last item sorts inside the page, or
the page is short). The page is the one a single partition holding every item would give; the
reads stay near `limit` plus one or two per partition.
"""

import dataclasses
from collections.abc import Sequence

from .items import Item, ItemStore, Query, key_of


def merged(items: ItemStore, queries: Sequence[Query], *, limit: int) -> list[Item]:
    """Up to `limit` items of the queries (of one index and one direction; their own limits are
    ignored), in that direction's sort-key order, each item once."""
    if limit <= 0 or not queries:
        return []
    if len(queries) == 1:
        return items.select(dataclasses.replace(queries[0], limit=limit))
    sort_key = f"{queries[0].index or ''}SK"
    descending = queries[0].descending

    def order(item: Item) -> tuple[str, tuple[str, str]]:
        return str(item[sort_key]), key_of(item)

    found: list[list[Item]] = [[] for _ in queries]
    asks = dict.fromkeys(range(len(queries)), min(limit, -(-limit // len(queries)) + 1))
    exhausted: set[int] = set()
    page: list[Item] = []
    while asks:
        pending = list(asks)
        pages = items.select_many([_onwards(queries[i], found[i], sort_key, asks[i]) for i in pending])
        for i, got in zip(pending, pages, strict=True):
            found[i] += got
            if len(got) < asks[i]:
                exhausted.add(i)
        unique = {key_of(item): item for partition in found for item in partition}
        page = sorted(unique.values(), key=order, reverse=descending)[:limit]
        asks = {}
        for i, partition in enumerate(found):
            if i in exhausted:
                continue
            last = order(partition[-1])
            inside = len(page) < limit or (last > order(page[-1]) if descending else last < order(page[-1]))
            if inside:  # what follows its last item may still belong in the page: ask for that much
                ahead = sum(1 for item in page if (order(item) >= last if descending else order(item) <= last))
                asks[i] = limit - ahead
    return page


def _onwards(query: Query, found: list[Item], sort_key: str, limit: int) -> Query:
    """The query for the next `limit` items of its partition after those found."""
    if not found:
        return dataclasses.replace(query, limit=limit)
    last = str(found[-1][sort_key])
    if query.descending:
        return dataclasses.replace(query, before=last, limit=limit)
    return dataclasses.replace(query, after=last, limit=limit)
