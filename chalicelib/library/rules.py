"""The library's rules as pure functions: tags, search words, facets, folder trees, limits.

No boto3 here: the store and the services apply these; tests/unit check them alone.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta

MAX_TAGS = 20  # per image
MAX_TAG_CHARS = 40
MAX_TITLE_CHARS = 200
MAX_WORDS = 30  # distinct search words indexed per image (title first, then prompt)
MIN_WORD_CHARS, MAX_WORD_CHARS = 2, 32
MAX_FOLDER_NAME_CHARS = 100
MAX_FOLDER_DEPTH = 10
MAX_FOLDERS = 1000  # per workspace: a folder read is one bounded query of the workspace's folders
MAX_BULK = 500
TRASH_RETENTION = timedelta(days=30)
UPLOAD_TTL = timedelta(hours=1)
MAX_UPLOAD_BYTES = 25 * 1024 * 1024
MAX_UPLOAD_PIXELS = 40_000_000  # Pillow refuses more (decompression bombs) before decoding
THUMB_EDGE = 256
UPLOAD_TYPES = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP"}
# Storage for uploads, by plan (generated images do not count against it).
STORAGE_BYTES_BY_PLAN: Mapping[str, int] = {
    "free": 100 * 1024 * 1024,
    "starter": 5 * 1024**3,
    "pro": 50 * 1024**3,
    "business": 200 * 1024**3,
    "enterprise": 1024**4,
}
DEFAULT_STORAGE_BYTES = STORAGE_BYTES_BY_PLAN["free"]
STOP_WORDS = frozenset({"a", "an", "and", "at", "by", "for", "in", "is", "of", "on", "or", "the", "to", "with"})
_WORD = re.compile(r"\w+", re.UNICODE)
_SPACE = re.compile(r"\s+", re.UNICODE)


class RuleError(ValueError):
    """A value the library refuses; `field` names what was wrong."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def normalise_tag(raw: str) -> str:
    """Lower case (NFKC), whitespace collapsed: "  Red   Fox " and "red fox" are one tag."""
    tag = _SPACE.sub(" ", unicodedata.normalize("NFKC", raw)).strip().lower()
    if not tag:
        raise RuleError("a tag must not be blank", "tags")
    if len(tag) > MAX_TAG_CHARS:
        raise RuleError(f"a tag has at most {MAX_TAG_CHARS} characters", "tags")
    if "#" in tag or not tag.isprintable():
        raise RuleError("a tag may not contain '#' or control characters", "tags")
    return tag


def normalise_tags(raw: Iterable[str]) -> list[str]:
    """Distinct normalised tags in the order given (at most MAX_TAGS)."""
    tags = list(dict.fromkeys(normalise_tag(tag) for tag in raw))
    if len(tags) > MAX_TAGS:
        raise RuleError(f"an image has at most {MAX_TAGS} tags", "tags")
    return tags


def words_of(*texts: str | None) -> list[str]:
    """The distinct search words of the texts (lower case, 2-32 characters, no stop words), at
    most MAX_WORDS: the same function indexes an image and reads a query, so they agree."""
    words: dict[str, None] = {}
    for text in texts:
        for word in _WORD.findall(unicodedata.normalize("NFKC", text or "").lower()):
            if MIN_WORD_CHARS <= len(word) <= MAX_WORD_CHARS and word not in STOP_WORDS:
                words.setdefault(word)
    return list(words)[:MAX_WORDS]


@dataclass(frozen=True)
class Facts:
    """What the index knows of an image: the values its facet rows are keyed by."""

    trashed: bool
    tags: tuple[str, ...]
    words: tuple[str, ...]
    provider: str | None
    model: str | None
    kind: str


def facets(facts: Facts) -> set[str]:
    """The facet names an image is listed under (its index rows are `<ws>#<facet>`).

    Only the state facet (`all`/`trash`) follows the trash; the others stay while an image is
    trashed (a read re-checks the row), so trashing and restoring move two rows, not forty."""
    names = {"trash" if facts.trashed else "all", f"kind:{facts.kind}"}
    names.update(f"tag:{tag}" for tag in facts.tags)
    names.update(f"word:{word}" for word in facts.words)
    if facts.provider:
        names.add(f"provider:{facts.provider}")
    if facts.model:
        names.add(f"model:{facts.model}")
    return names


def folder_name(raw: str) -> str:
    """A folder name: trimmed, 1-100 printable characters, no '/' (paths are joined with it)."""
    name = _SPACE.sub(" ", raw).strip()
    if not name or len(name) > MAX_FOLDER_NAME_CHARS or "/" in name or not name.isprintable():
        raise RuleError(f"name must be 1-{MAX_FOLDER_NAME_CHARS} printable characters without '/'", "name")
    return name


def ancestors(folder_id: str | None, parents: Mapping[str, str | None]) -> list[str]:
    """The chain from `folder_id` up to the root (itself first); stops on a cycle."""
    chain: list[str] = []
    current = folder_id
    while current is not None and current not in chain:
        chain.append(current)
        current = parents.get(current)
    return chain


def path_of(folder_id: str, parents: Mapping[str, str | None], names: Mapping[str, str]) -> str:
    """ "/Parent/Child": the names from the root down."""
    return "/" + "/".join(names.get(f, "?") for f in reversed(ancestors(folder_id, parents)))


def move_allowed(folder_id: str, new_parent: str | None, parents: Mapping[str, str | None]) -> bool:
    """False when `new_parent` is the folder itself or one of its descendants (a cycle)."""
    return folder_id not in ancestors(new_parent, parents)


def depth_after_move(folder_id: str, new_parent: str | None, parents: Mapping[str, str | None]) -> int:
    """How deep the moved folder's deepest descendant would be (the root's children are 1)."""
    children: dict[str | None, list[str]] = {}
    for child, parent in parents.items():
        children.setdefault(parent, []).append(child)

    def height(node: str) -> int:
        return 1 + max((height(c) for c in children.get(node, [])), default=0)

    return len(ancestors(new_parent, parents)) + height(folder_id)


def storage_quota(plan: str) -> int:
    """Bytes of uploads the plan may keep."""
    return STORAGE_BYTES_BY_PLAN.get(plan, DEFAULT_STORAGE_BYTES)


# --- exports (issue 12) -------------------------------------------------------------------------

MAX_EXPORT_IMAGES = MAX_BULK  # per export: the ids given, or a folder's live images
MAX_EXPORT_BYTES = 1024**3  # the originals' bytes per export (the worker streams them in 8 MiB parts)
MAX_PENDING_EXPORTS = 3  # queued or running per workspace; one more is 429 until one finishes
EXPORT_RETENTION = timedelta(days=7)  # a ready zip is downloadable this long, then deleted
EXPORT_DEADLINE = timedelta(hours=6)  # an export not finished by then failed (its messages ran out)
EXPORT_RETRY_AFTER_S = 30
SHARED_COPY_DAYS = 2  # share copies are named per day; the bucket expires them after this many days
