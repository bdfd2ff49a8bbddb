"""Order keys for the images of a folder in the order its owner sets (fractional indexing).

A rank is a string over the 62 ASCII-sorted digits, read as a base-62 fraction 0.d1d2d3…, never
ending in "0" (so between any two ranks there is always another). Putting an image between two
neighbours writes that one image only: its rank becomes a string between theirs; a block of n
images gets n ranks spread by bisection, so each costs about log62(n) more characters.

An image that no one placed has a *default* rank: "z" followed by its id's characters mirrored
in the alphabet. Ids are fixed-length and grow with time, so default ranks sort newest first,
and after every placed rank that `between` makes from the top (those never start with "z" unless
placed after a default one). That is why this is written here rather than taken from the
`fractional-indexing` package: its keys carry an integer-part header, which the default ranks
derived from ids cannot (and the midpoint is the 20 lines below, from the same public algorithm).
"""

from __future__ import annotations

DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_INDEX = {c: i for i, c in enumerate(DIGITS)}
DEFAULT_PREFIX = "z"
MAX_RANK_CHARS = 512  # DynamoDB allows 1,024 bytes in a sort key; far beyond any real use


class RankError(ValueError):
    """Not a rank, or the gap between two neighbours is used up (MAX_RANK_CHARS)."""


def default_rank(image_id: str) -> str:
    """The rank of an image no one placed: newest first, after the placed ones."""
    body = image_id.split("_", 1)[-1]
    return DEFAULT_PREFIX + "".join(DIGITS[len(DIGITS) - 1 - _INDEX[c]] for c in body)


def valid(rank: str) -> bool:
    return bool(rank) and not rank.endswith("0") and all(c in _INDEX for c in rank)


def between(low: str | None, high: str | None) -> str:
    """A rank strictly between `low` (None: the top) and `high` (None: the bottom)."""
    a, b = low or "", high
    if (a and not valid(a)) or (b is not None and not valid(b)) or (b is not None and a >= b):
        raise RankError(f"no rank between {low!r} and {high!r}")
    rank = _midpoint(a, b)
    if len(rank) > MAX_RANK_CHARS:
        raise RankError("the gap between these neighbours is used up")
    return rank


def spread(low: str | None, high: str | None, n: int) -> list[str]:
    """n ascending ranks strictly between low and high, by bisection (short keys)."""
    if n <= 0:
        return []
    mid = between(low, high)
    half = n // 2
    return spread(low, mid, half) + [mid] + spread(mid, high, n - half - 1)


def _midpoint(a: str, b: str | None) -> str:
    """The fraction halfway (roughly) between a and b; a < b, b None stands for 1."""
    if b is not None:
        n = 0
        while n < len(b) and (a[n] if n < len(a) else "0") == b[n]:
            n += 1
        if n:
            return b[:n] + _midpoint(a[n:], b[n:])
    low = _INDEX[a[0]] if a else 0
    high = _INDEX[b[0]] if b is not None else len(DIGITS)
    if high - low > 1:
        return DIGITS[(low + high + 1) // 2]
    if b is not None and len(b) > 1:
        return b[0]
    return DIGITS[low] + _midpoint(a[1:], None)
