"""Account plans: the samples parse, and every kind of broken plan says where it broke."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.plans import MAX_PLAN_BYTES, load_plan
from samdesk.errors import InputError
from tests.conftest import SAMPLES

ACME = SAMPLES / "accounts" / "acme-financial.md"
ACME_TEXT = ACME.read_text(encoding="utf-8")


def line_of(text: str, needle: str) -> int:
    """1-based number of the only line of ``text`` containing ``needle``."""
    hits = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(hits) == 1, (needle, hits)
    return hits[0]


def write(tmp_path: Path, text: str | bytes, name: str = "plan.md") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def only_error(path: Path) -> InputError:
    plan, errors = load_plan(path)
    assert plan is None
    assert len(errors) == 1, errors
    return errors[0]


def test_sample_plan_parses() -> None:
    plan, errors = load_plan(ACME)

    assert errors == []
    assert plan is not None
    assert plan.account_id == "acme-financial"
    assert plan.name == "Acme Financial Corp"
    assert plan.arr_usd == 750_000
    assert plan.strategic_score == 86.5
    assert len(plan.scorecard) == 7
    assert sum(row.weight for row in plan.scorecard) == 100
    assert [s.name for s in plan.stakeholders][:2] == ["Robert Ainsley", "James Okoro"]
    assert plan.stakeholders[0].role == "economic_buyer"
    assert {o.value_usd for o in plan.opportunities} == {200_000, 50_000}
    assert plan.meetings[0].starts_at.tzinfo is not None
    assert list(plan.sections) == [
        "Summary",
        "Objectives",
        "Relationship map",
        "Risks",
        "Key initiatives",
        "Last contact",
    ]
    assert "Linda Marsh leaves on 2027-03-31" in plan.sections["Risks"]
    assert not plan.sections["Risks"].startswith("##")


@pytest.mark.parametrize("path", sorted((SAMPLES / "accounts").glob("*.md")), ids=lambda p: p.stem)
def test_every_sample_plan_is_valid(path: Path) -> None:
    plan, errors = load_plan(path)

    assert errors == []
    assert plan is not None
    assert plan.account_id == path.stem
    assert 0 <= plan.strategic_score <= 100


def test_missing_front_matter(tmp_path: Path) -> None:
    path = write(tmp_path, "# Acme\n\n## Summary\nNo front matter here.\n")

    error = only_error(path)

    assert (error.line, error.field) == (1, None)
    assert "---" in error.problem
    assert str(error).startswith(f"{path}:1:")


def test_unclosed_front_matter(tmp_path: Path) -> None:
    path = write(tmp_path, ACME_TEXT.replace("\n---\n", "\n", 1))

    error = only_error(path)

    assert error.line == 1
    assert "not closed" in error.problem
    assert f"{path}:1:" in str(error)


def test_invalid_yaml_reports_its_line(tmp_path: Path) -> None:
    broken = ACME_TEXT.replace("industry: Financial services", "industry: [Financial services")
    path = write(tmp_path, broken)

    error = only_error(path)

    # The parser notices the unclosed flow sequence at the next key, on the domain line.
    assert error.line == line_of(broken, "domain:")
    assert "not valid YAML" in error.problem
    assert f"{path}:{error.line}:" in str(error)


@pytest.mark.parametrize(
    ("front", "bad_line"),
    [
        ("account_id: acme\n  bad: indent\nname: x", 3),
        ("account_id: acme\nname: x\n\tindustry: tab", 4),
    ],
    ids=["bad-indent", "tab"],
)
def test_invalid_yaml_line_is_a_file_line(tmp_path: Path, front: str, bad_line: int) -> None:
    path = write(tmp_path, f"---\n{front}\n---\n## Summary\nText.\n")

    error = only_error(path)

    assert error.line == bad_line  # counted from the top of the file, '---' included


def test_wrong_stakeholder_role_names_field_and_line(tmp_path: Path) -> None:
    # Linda Marsh is the third stakeholder (index 2); her role key sits on its own line.
    broken = ACME_TEXT.replace("    role: champion", "    role: cheerleader", 1)
    path = write(tmp_path, broken)

    error = only_error(path)

    assert error.field == "stakeholders.2.role"
    assert error.line == line_of(broken, "role: cheerleader")
    assert f"{path}:{error.line}: field 'stakeholders.2.role'" in str(error)
    assert "champion" in error.problem  # pydantic lists the allowed values


def test_error_in_flow_mapping_row_points_at_that_row(tmp_path: Path) -> None:
    broken = ACME_TEXT.replace(
        "criterion: Strategic Fit, weight: 15, score: 10",
        "criterion: Strategic Fit, weight: 15, score: 11",
    )
    path = write(tmp_path, broken)

    errors = load_plan(path)[1]

    by_field = {e.field: e for e in errors}
    assert "scorecard.2.score" in by_field
    assert by_field["scorecard.2.score"].line == line_of(broken, "criterion: Strategic Fit")


def test_missing_required_field_points_at_its_parent(tmp_path: Path) -> None:
    broken = ACME_TEXT.replace("    title: Chief Information Officer\n", "", 1)
    path = write(tmp_path, broken)

    error = only_error(path)

    assert error.field == "stakeholders.1.title"
    assert error.line == line_of(broken, "name: James Okoro")


def test_weights_not_summing_to_100(tmp_path: Path) -> None:
    broken = ACME_TEXT.replace(
        "criterion: Current ARR, weight: 25", "criterion: Current ARR, weight: 30"
    )
    path = write(tmp_path, broken)

    error = only_error(path)

    assert error.field == "scorecard"
    assert "sum to 105" in error.problem
    # The list itself: its key, or its first row on the next line.
    key_line = line_of(broken, "scorecard:")
    assert error.line in {key_line, key_line + 1}
    assert f"{path}:{error.line}:" in str(error)


def test_several_problems_are_all_reported(tmp_path: Path) -> None:
    broken = ACME_TEXT.replace("arr_usd: 750000", "arr_usd: -1").replace(
        "    relationship: strong\n", "    relationship: besties\n", 1
    )
    path = write(tmp_path, broken)

    plan, errors = load_plan(path)

    assert plan is None
    assert {(e.field, e.line) for e in errors} == {
        ("arr_usd", line_of(broken, "arr_usd: -1")),
        ("stakeholders.1.relationship", line_of(broken, "relationship: besties")),
    }


def test_unknown_front_matter_field_is_rejected(tmp_path: Path) -> None:
    broken = ACME_TEXT.replace(
        "industry: Financial services", "industry: Financial services\nindusty: typo"
    )
    path = write(tmp_path, broken)

    error = only_error(path)

    assert error.field == "industy"
    assert error.line == line_of(broken, "industy: typo")


def test_sections_in_front_matter_are_reserved(tmp_path: Path) -> None:
    path = write(tmp_path, ACME_TEXT.replace("arr_usd: 750000", "arr_usd: 750000\nsections: {}"))

    error = only_error(path)

    assert error.field == "sections"


def test_non_utf8_bytes_report_their_line(tmp_path: Path) -> None:
    raw = ACME_TEXT.encode("utf-8").replace(b"name: Acme Financial Corp", b"name: Acme \xff Corp")
    path = write(tmp_path, raw)

    error = only_error(path)

    assert error.line == line_of(ACME_TEXT, "name: Acme Financial Corp")
    assert "UTF-8" in error.problem
    assert f"{path}:{error.line}:" in str(error)


def test_file_over_the_size_limit_is_rejected_unread(tmp_path: Path) -> None:
    path = write(tmp_path, ACME_TEXT + "\n" + "x" * MAX_PLAN_BYTES)

    error = only_error(path)

    assert error.line is None
    assert str(MAX_PLAN_BYTES) in error.problem
    assert str(path) in str(error)


def test_missing_file_is_reported(tmp_path: Path) -> None:
    error = only_error(tmp_path / "nope.md")

    assert "cannot read" in error.problem


def test_duplicate_heading_is_rejected_not_silently_dropped(tmp_path: Path) -> None:
    text = ACME_TEXT + "\n## Risks\nA second risks section.\n"
    path = write(tmp_path, text)

    error = only_error(path)

    assert error.field == "sections.Risks"
    assert error.line == len(text.splitlines()) - 1  # the second '## Risks', not the first


@pytest.mark.parametrize("heading", ["Overview", "stakeholders", "Risks!"])
def test_heading_that_would_reuse_a_chunk_id_is_rejected(tmp_path: Path, heading: str) -> None:
    # 'Overview'/'stakeholders' collide with generated blocks, 'Risks!' with '## Risks'.
    path = write(tmp_path, ACME_TEXT + f"\n## {heading}\nSomething.\n")

    error = only_error(path)

    assert error.field == f"sections.{heading}"
    assert error.line == line_of(ACME_TEXT + f"\n## {heading}\n", f"## {heading}")
