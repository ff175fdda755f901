"""Entity tags of drafts for the JSON API: ``ETag: W/"<version>"`` and ``If-Match``.

The tag is weak because a draft's JSON includes its queue priority, which drifts with the
clock while the draft (its version) stays the same. ``If-Match`` compares version numbers
and accepts the tag with or without ``W/``: RFC 9110 asks for a strong comparison, but the
version is exactly the state a change is guarded against, and proxies that compress
responses turn strong tags weak, which would make every guarded change fail.
"""

from __future__ import annotations

import re

# A version no draft ever has (they start at 1): what an unreadable If-Match expects, so
# the request fails its precondition (412) like any other tag that matches nothing.
NO_VERSION = 0
_TAG = re.compile(r'\s*(?:W/)?"(\d{1,18})"\s*')


def etag(version: int) -> str:
    return f'W/"{version}"'


def if_match_version(header: str) -> int | None:
    """The version an ``If-Match`` value asks for; ``None`` for ``*`` (any current draft).

    A list of tags matches if the draft is at any of them, which a single expected version
    cannot say; a list naming one version is fine, one naming several is refused (412).
    """
    if header.strip() == "*":
        return None
    versions = set()
    for part in header.split(","):
        match = _TAG.fullmatch(part)
        if match is None:
            return NO_VERSION
        versions.add(int(match.group(1)))
    return versions.pop() if len(versions) == 1 else NO_VERSION
