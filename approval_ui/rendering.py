"""Model text to HTML that cannot run or leak: safe Markdown, then a sanitizer.

Drafts are LLM output seeded by internet text, so they are treated as hostile: raw HTML is
off, ``javascript:``/``data:`` links are refused, images are dropped, and citation markers
become links only when they name a source of this draft.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from html import escape
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

_MD = MarkdownIt("js-default")  # the safe preset: html off, dangerous link schemes refused
_TAGS = set(nh3.ALLOWED_TAGS) - {"img"}
_MARKER = re.compile(r"\[([A-Za-z0-9][A-Za-z0-9._:/-]{1,127})\]")
_TAG = re.compile(r"(<[^>]*>)")  # sanitized output: every other < and > is escaped


@dataclass(frozen=True)
class Flag:
    """A grounding finding to show in the text: ``excerpt`` is highlighted with ``message``."""

    excerpt: str
    message: str
    code: str = ""

    @classmethod
    def from_finding(cls, finding: dict[str, Any]) -> Flag:
        """From a stored ``Draft.findings`` entry (code, message, excerpt, severity)."""
        return cls(
            finding.get("excerpt") or "", finding.get("message", ""), finding.get("code", "")
        )


def render_markdown(
    text: str, source_ids: Iterable[str] = (), flags: Iterable[Flag] = ()
) -> Markup:
    html = nh3.clean(
        _MD.render(text),
        tags=_TAGS,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    known = set(source_ids)
    flags = list(flags)
    # A flag is about a citation marker only where the text cites it: "15" or "2026-12-15"
    # could be ids too, but as excerpts of a date or number they are highlighted in the text.
    on_marker = {
        f.excerpt: f
        for f in flags
        if _MARKER.fullmatch(f"[{f.excerpt}]") and f"[{f.excerpt}]" in text
    }
    in_text = {
        escape(f.excerpt, quote=False): f
        for f in flags
        if f.excerpt.strip() and f.excerpt not in on_marker
    }
    longest_first = sorted(in_text, key=len, reverse=True)
    excerpts = (_whole(e) for e in longest_first)
    token = re.compile("|".join([_MARKER.pattern, *excerpts]))

    def replace(match: re.Match[str]) -> str:
        sid = match.group(1)
        if sid is None:
            return _mark(match.group(0), in_text[match.group(0)])
        flag = on_marker.get(sid)
        if sid not in known:
            why = f"not a source of this draft{f': {flag.message}' if flag else ''}"
            return f'<span class="cite cite-unknown" title="{escape(why)}">[{sid}]</span>'
        if flag is not None:
            return (
                f'<a class="cite cite-flagged" href="#src-{sid}" '
                f'title="{escape(flag.message)}">[{sid}]</a>'
            )
        return f'<a class="cite" href="#src-{sid}">[{sid}]</a>'

    # Markers and highlights go into text only: inside an attribute they would end it.
    parts = (p if p.startswith("<") else token.sub(replace, p) for p in _TAG.split(html))
    return Markup("".join(parts))  # noqa: S704 - sanitized above, ids are [\w.:/-]


def render_subject(subject: str, flags: Iterable[Flag] = ()) -> Markup:
    """The subject line, escaped, its flagged words highlighted as in the body: a subject
    that echoes the prompt or says nothing is the first thing a recipient reads."""
    text = escape(subject, quote=False)
    for flag in sorted(flags, key=lambda f: len(f.excerpt), reverse=True):
        hit = re.search(_whole(escape(flag.excerpt, quote=False)), text)
        if flag.excerpt.strip() and hit:
            # One highlight: marks of overlapping excerpts would nest.
            marked = text[: hit.start()] + _mark(hit.group(0), flag) + text[hit.end() :]
            return Markup(marked)  # noqa: S704 - escaped above
    return Markup(text)  # noqa: S704 - escaped above


def _whole(excerpt: str) -> str:
    """Whole words only: the flagged "15" is not the 15 in "2015"."""
    return rf"(?<!\w){re.escape(excerpt)}(?!\w)"


def _mark(html: str, flag: Flag) -> str:
    return (
        f'<mark class="flagged" data-code="{escape(flag.code)}" '
        f'title="{escape(flag.message)}">{html}</mark>'
    )
