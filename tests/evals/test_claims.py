"""The claim splitter and checker, and the checker's measured quality on labelled claims."""

from __future__ import annotations

import pytest

from evals.agreement import claim_quality, fixture_chunks, load_claims
from evals.claims import Claim, check_claim, split_claims
from retrieval.chunks import Chunk

CHUNKS = fixture_chunks()


def verdict(text: str, *source_ids: str) -> tuple[bool, tuple[str, ...]]:
    v = check_claim(Claim(text, source_ids), [CHUNKS[s] for s in source_ids])
    return v.supported, v.reasons


def test_split_skips_greetings_questions_and_signoffs() -> None:
    body = """Dear Robert,

Linda Marsh will retire on March 31, 2027 [sig-acme-009]. Nadia Brooks will lead the transition.
[sig-acme-010]
- Dr. Alan Pierce left for Cedar Valley [sig-meridian-006]
## Risks
Could we meet next week?
Best regards,
Sarah Chen"""
    claims = split_claims(body)
    assert [c.text for c in claims] == [
        "Linda Marsh will retire on March 31, 2027.",
        "Nadia Brooks will lead the transition.",
        "Dr. Alan Pierce left for Cedar Valley",
    ]
    # A citation on the next line belongs to the sentence before it.
    assert claims[1].citations == ("sig-acme-010",)
    assert claims[0].citations == ("sig-acme-009",)


@pytest.mark.parametrize(
    ("text", "source"),
    [
        ("Linda Marsh will retire on March 31, 2027, after 19 years.", "sig-acme-009"),
        (
            "Robert Ainsley said projects with a payback inside 12 months would continue.",
            "sig-acme-007",
        ),
        ("The Sunridge deal is expected to close in Q2 2027.", "sig-brightline-007"),
        ("CFO Angela Brandt oversees Paul Henning.", "sig-harborview-005"),
    ],
)
def test_supported_paraphrases_pass(text: str, source: str) -> None:
    ok, reasons = verdict(text, source)
    assert ok, reasons


@pytest.mark.parametrize(
    ("text", "source", "because"),
    [
        ("Linda Marsh will retire on March 31, 2026.", "sig-acme-009", "date"),
        ("Bluewater acquired ParcelPath for $26 million.", "sig-bluewater-003", "26"),
        (
            "Robert Ainsley said projects with a payback inside six months would continue.",
            "sig-acme-007",
            "number 6",
        ),
        (
            "James Okoro, the Chief Operating Officer, meets us monthly.",
            "acme-financial/stakeholders",
            "Chief Operating Officer",
        ),
        ("Helen Park joined from Stratus Insights.", "sig-acme-001", "Stratus"),
        ("The outage had no impact on dispatchers.", "sig-bluewater-005", "negation"),
        ("Acme has frozen all technology spending for 2027.", "sig-acme-008", "possible"),
        ("The Sunridge deal closed in Q4 2026.", "sig-brightline-007", "Q4 2026"),
    ],
)
def test_unsupported_details_are_caught_with_a_reason(text: str, source: str, because: str) -> None:
    ok, reasons = verdict(text, source)
    assert not ok
    assert because in " ".join(reasons)


def test_a_claim_is_held_to_its_own_citation_not_to_any_source() -> None:
    claim = Claim("Brightline priced a $1.2 billion green bond.", ("sig-acme-009",))
    sources = [CHUNKS["sig-acme-009"], CHUNKS["sig-brightline-002"]]
    assert not check_claim(claim, sources).supported
    assert check_claim(Claim(claim.text), sources, ["sig-brightline-002"]).supported
    nothing = check_claim(Claim(claim.text), sources)
    assert not nothing.supported and nothing.reasons == ("cites no source it was given",)


def test_checker_quality_on_the_labelled_claims() -> None:
    """The published figures: a drop here means the checker got worse."""
    labelled = load_claims()
    assert len(labelled) >= 60
    ours = claim_quality(labelled, CHUNKS)
    product = claim_quality(labelled, CHUNKS, product_only=True)
    assert ours.precision >= 0.9 and ours.recall >= 0.8
    # The eval layer only adds rules on top of the product's: it never catches less.
    assert ours.tp >= product.tp


def test_checker_on_a_source_with_no_date() -> None:
    plan = Chunk("a/overview", "a", "plan", "Overview", "t", "Renewal date: 2027-03-31.")
    assert check_claim(Claim("Renewal is due on March 31, 2027."), [plan], ["a/overview"]).supported
