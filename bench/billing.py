"""What DynamoDB bills a write: an item's size as it counts it, and the write units of that size.
Shared by the benchmarks that price writes (bench/capacity.py, bench/search.py); only the standard
library, so a benchmark may load it beside another tree's code."""

import math
import re

KB = 1024
INDEX_ENTRY_OVERHEAD = 100  # bytes DynamoDB adds to each item's copy in an index


def value_size(value: str | int | float) -> int:
    """A value's size as DynamoDB counts it: a string's UTF-8 bytes; a number's significant digits,
    two a byte, plus one."""
    if isinstance(value, str):
        return len(value.encode())
    digits = re.sub(r"[^0-9]", "", repr(value)).strip("0") or "0"
    return (len(digits) + 1) // 2 + 1


def item_size(item: dict | None) -> int:
    return 0 if item is None else sum(len(name.encode()) + value_size(value) for name, value in item.items())


def units(size: int) -> int:
    """WCU of a write of an item of this size: 1 per KB, rounded up, at least 1."""
    return max(1, math.ceil(size / KB))
