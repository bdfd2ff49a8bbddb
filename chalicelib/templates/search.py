"""Search words, pure: what `?q=` matches (every word of the query is a word of the template's
name or prompt, case-insensitive) and how a template's words are stored for that.

The same normalisation serves the in-memory catalogue and the filter expressions on the stored
templates (`contains(words, :w)` per query word), so both answer alike.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[a-z0-9]+")
_SLOT = re.compile(r"\{[a-z][a-z0-9_]*\}")
MAX_QUERY_WORDS = 5
MAX_STORED_WORDS = 300
TAG = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")


def words(text: str) -> list[str]:
    """The distinct lower-case words of `text` in order (letters and digits; accents kept apart)."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(text.lower()):
        seen.setdefault(word, None)
    return list(seen)


def template_words(name: str, prompt: str) -> list[str]:
    """The words a template is found by: its name and its prompt's text (slot names left out)."""
    return words(f"{name} {_SLOT.sub(' ', prompt)}")[:MAX_STORED_WORDS]


def matches(query: list[str], tag: str | None, found_by: list[str], tags: tuple[str, ...] | list[str]) -> bool:
    """True when every query word is one of `found_by` and `tag` (if any) is one of `tags`."""
    return all(word in found_by for word in query) and (tag is None or tag in tags)
