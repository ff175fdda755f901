"""RSS and Atom feeds (feedparser): each entry becomes a signal for the feed's account.

An entry's id is derived from the account and its normalised link, so the same story seen
again (or in another feed of the same account) is the same signal; the same text under a
different link is caught by content hash in ``intake.enqueue``.
"""

from __future__ import annotations

import calendar
import html
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import feedparser
import nh3

from retrieval.sources import SourceError
from retrieval.sources.intake import RawItem, stable_id
from samdesk.errors import InputError

_TRACKING = re.compile(r"^(utm_|fbclid$|gclid$|mc_cid$|mc_eid$)")
_SPACE = re.compile(r"\s+")
MAX_TEXT = 20_000


def normalise_url(url: str) -> str:
    """Same story, same URL: lower-case host, no fragment, no tracking parameters."""
    parts = urlsplit(url.strip())
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if not _TRACKING.match(k)])
    path = parts.path.rstrip("/") or "/"
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, query, ""))


def plain_text(markup: str) -> str:
    """Feed summaries are HTML; keep the words, drop every tag and entity."""
    return _SPACE.sub(" ", html.unescape(nh3.clean(markup, tags=set()))).strip()


def parse_feed(
    body: bytes, *, name: str, account_id: str
) -> tuple[list[RawItem], list[InputError]]:
    """Items of a feed, and one error per entry that lacks a link, a title or a date."""
    parsed: Any = feedparser.parse(body)
    entries = list(parsed.entries)
    if not entries and (parsed.bozo or not parsed.get("version")):
        why = parsed.get("bozo_exception") or "no RSS or Atom root element"
        raise SourceError(f"feed {name!r}: not an RSS or Atom feed ({why})")
    items: list[RawItem] = []
    errors: list[InputError] = []
    seen: set[str] = set()
    for number, entry in enumerate(entries, start=1):
        title = plain_text(str(entry.get("title", "")))
        where = f"feed {name!r} entry {number}" + (f" ({title[:60]!r})" if title else "")
        link = str(entry.get("link", "")).strip()
        published = _published(entry)
        missing = [
            field
            for field, value in (("link", link), ("title", title), ("published", published))
            if not value
        ]
        for field in missing:
            errors.append(InputError(where, None, field, "missing; the entry is skipped"))
        if missing or published is None:
            continue
        url = normalise_url(link)
        signal_id = stable_id("feed", account_id, url)
        if signal_id in seen:
            continue
        seen.add(signal_id)
        text = plain_text(_body(entry)) or title
        items.append(
            RawItem(
                where,
                {
                    "id": signal_id,
                    "account_id": account_id,
                    "title": title[:300],
                    "text": text[:MAX_TEXT],
                    "source_url": url,
                    "published_at": published.isoformat(),
                },
            )
        )
    return items, errors


def _body(entry: Any) -> str:
    contents = entry.get("content") or []
    if contents:
        return str(contents[0].get("value", ""))
    return str(entry.get("summary", ""))


def _published(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed"):
        value = entry.get(key)
        if value:
            # feedparser normalises every date to a UTC struct_time
            return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    return None
