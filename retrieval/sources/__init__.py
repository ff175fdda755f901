"""Where signals come from besides JSONL files: CSV exports, RSS/Atom feeds, calendars, webhooks.

Every source turns its input into plain dicts shaped like ``retrieval.schemas.Signal``;
``intake.validate`` checks them (naming the item and field that broke), and ``intake``
queues the valid ones so that ``retrieval.ingest`` stores and indexes each exactly once.
"""

from __future__ import annotations

from samdesk.errors import SamdeskError


class SourceError(SamdeskError):
    """A whole source could not be read (unreachable URL, not a feed, not a calendar)."""

    http_status = 502
