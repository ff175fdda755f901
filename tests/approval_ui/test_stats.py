"""Acceptance metrics per SAM and per prompt version, and the audit trail as CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from approval_ui.diffs import edit_distance
from tests.approval_ui.conftest import MANAGER, OTHER_SAM, REVIEWER, Desk, owned_draft

SignedIn = Callable[[str | None], TestClient]


@pytest.fixture
def reviewed(sessions: sessionmaker[Session], desk: Desk) -> dict[str, int]:
    """Sarah: one approved as written, one approved after an edit, two rejected.
    Marcus: one approved as written."""
    unchanged = owned_draft(sessions)
    edited = owned_draft(sessions, body="Hi Robert, congratulations on the new CFO role.")
    wrong = owned_draft(sessions)
    vague = owned_draft(sessions)
    marcus = owned_draft(sessions, owner=OTHER_SAM, account_id="bluewater-logistics")
    desk.approve(unchanged)
    desk.edit(edited, body="Hi Robert, congratulations on Laura Kim's appointment as CFO.")
    desk.approve(edited)
    desk.send(edited)
    desk.reject(wrong, "Robert left", category="wrong_recipient")
    desk.reject(vague, "too vague")
    desk.approve(marcus, by=OTHER_SAM)
    return {"unchanged": unchanged, "edited": edited, "marcus": marcus}


def test_stats_per_sam_and_prompt(signed_in: SignedIn, reviewed: dict[str, int]) -> None:
    data = signed_in(MANAGER).get("/api/stats").json()

    by_sam = {row["key"]: row for row in data["by_sam"]}
    sarah = by_sam[REVIEWER]
    assert (sarah["approved_unchanged"], sarah["approved_edited"], sarah["rejected"]) == (1, 1, 2)
    assert sarah["rejected_by_reason"] == {"Free text only": 1, "Wrong recipient": 1}
    header = (
        "Robert Ainsley <robert.ainsley@acmefinancial.example>\nCongratulations on the new CFO\n\n"
    )
    expected = edit_distance(
        header + "Hi Robert, congratulations on the new CFO role.",
        header + "Hi Robert, congratulations on Laura Kim's appointment as CFO.",
    )
    assert sarah["mean_edit_distance"] == pytest.approx(expected)
    assert 0 < expected < 1
    assert sarah["unchanged_share"] == pytest.approx(1 / 4)
    assert by_sam[OTHER_SAM]["approved_unchanged"] == 1
    [prompt] = data["by_prompt"]
    assert prompt["key"].startswith("outreach@v")
    assert (prompt["approved_unchanged"], prompt["approved_edited"], prompt["rejected"]) == (
        2,
        1,
        2,
    )
    assert data["total"]["approved_edited"] == 1


def test_a_sam_sees_stats_of_their_own_drafts_only(
    client: TestClient, reviewed: dict[str, int]
) -> None:
    data = client.get("/api/stats").json()
    assert [row["key"] for row in data["by_sam"]] == [REVIEWER]
    html = client.get("/stats").text
    assert "Approved after edit" in html and "Wrong recipient: 1" in html


def test_the_audit_trail_exports_as_csv(client: TestClient, reviewed: dict[str, int]) -> None:
    draft_id = reviewed["edited"]
    response = client.get(f"/api/drafts/{draft_id}/audit.csv")

    assert response.headers["content-type"].startswith("text/csv")
    assert f"samdesk-draft-{draft_id}-audit.csv" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["action"], r["actor"]) for r in rows] == [
        ("created", "samdesk:model"),
        ("edited", REVIEWER),
        ("approved", REVIEWER),
        ("sent", REVIEWER),
    ]
    assert all(len(r["revision_hash"]) == 64 for r in rows)
    assert {r["draft_id"] for r in rows} == {str(draft_id)}
    everything = list(csv.DictReader(io.StringIO(client.get("/api/audit.csv").text)))
    assert str(reviewed["marcus"]) not in {r["draft_id"] for r in everything}  # Marcus's
    assert f'href="/api/drafts/{draft_id}/audit.csv"' in client.get(f"/drafts/{draft_id}").text


def test_csv_cells_cannot_become_spreadsheet_formulas(
    client: TestClient, sessions: sessionmaker[Session], desk: Desk
) -> None:
    draft_id = owned_draft(sessions)
    desk.reject(draft_id, '=HYPERLINK("https://evil.example","click")')
    rows = list(csv.reader(io.StringIO(client.get(f"/api/drafts/{draft_id}/audit.csv").text)))
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
