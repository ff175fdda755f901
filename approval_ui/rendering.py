"""Model text to HTML that cannot run or leak: safe Markdown, then a sanitizer.

Drafts are LLM output seeded by internet text, so they are treated as hostile: raw HTML is
off, ``javascript:``/``data:`` links are refused, images are dropped, and citation markers
become links only when they name a source of this draft.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

_MD = MarkdownIt("js-default")  # the safe preset: html off, dangerous link schemes refused
_TAGS = set(nh3.ALLOWED_TAGS) - {"img"}
_MARKER = re.compile(r"\[([A-Za-z0-9][A-Za-z0-9._:/-]{1,127})\]")
_TAG = re.compile(r"(<[^>]*>)")  # sanitized output: every other < and > is escaped


def render_markdown(text: str, source_ids: Iterable[str] = ()) -> Markup:
    html = nh3.clean(
        _MD.render(text),
        tags=_TAGS,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    known = set(source_ids)

    def link(match: re.Match[str]) -> str:
        sid = match.group(1)
        if sid not in known:
            return (
                f'<span class="cite cite-unknown" title="not a source of this draft">[{sid}]</span>'
            )
        return f'<a class="cite" href="#src-{sid}">[{sid}]</a>'

    # Markers become links in text only: inside an attribute (a link title) they would end it.
    parts = (p if p.startswith("<") else _MARKER.sub(link, p) for p in _TAG.split(html))
    return Markup("".join(parts))  # noqa: S704 - sanitized above, ids are [\w.:/-]
