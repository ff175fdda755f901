"""Optimistic concurrency on the JSON API: ``ETag: W/"<version>"`` out, ``If-Match`` in."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from approval_ui.etags import NO_VERSION, etag, if_match_version
from tests.approval_ui.conftest import MANAGER, OTHER_SAM, REVIEWER, eml_files
from tests.factories import make_draft

SignedIn = Callable[[str | None], TestClient]


@pytest.mark.parametrize(
    ("header", "version"),
    [
        ('W/"7"', 7),
        ('"7"', 7),
        (' W/"7" ', 7),
        ('W/"7", "7"', 7),
        ("*", None),
        ('W/"7", W/"8"', NO_VERSION),
        ("7", NO_VERSION),
        ('W/"seven"', NO_VERSION),
        ("", NO_VERSION),
        ('"' + "9" * 40 + '"', NO_VERSION),
    ],
)
def test_if_match_values(header: str, version: int | None) -> None:
    assert if_match_version(header) == version


def tag(client: TestClient, draft_id: int, plus: int = 0) -> str:
    """The draft's ETag now, or the one it will have after ``plus`` more changes."""
    return etag(client.get(f"/api/drafts/{draft_id}").json()["version"] + plus)


def test_draft_responses_carry_a_weak_etag_of_the_version(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    draft_id = make_draft(sessions)

    got = client.get(f"/api/drafts/{draft_id}")
    version = got.json()["version"]
    assert got.headers["etag"] == f'W/"{version}"'

    edited = client.patch(
        f"/api/drafts/{draft_id}",
        json={"body": "New text."},
        headers={"If-Match": got.headers["etag"]},
    )
    assert edited.status_code == 200
    assert edited.headers["etag"] == f'W/"{version + 1}"'
    approved = client.post(
        f"/api/drafts/{draft_id}/approve", json={}, headers={"If-Match": edited.headers["etag"]}
    )
    assert approved.status_code == 200
    assert approved.headers["etag"] == f'W/"{approved.json()["version"]}"' == etag(version + 2)


def test_a_stale_if_match_is_412_with_the_other_change_and_overwrites_nothing(
    client: TestClient, signed_in: SignedIn, sessions: sessionmaker[Session]
) -> None:
    draft_id = make_draft(sessions)
    manager = signed_in(MANAGER)
    opened = client.get(f"/api/drafts/{draft_id}").headers["etag"]
    assert manager.get(f"/api/drafts/{draft_id}").headers["etag"] == opened
    first = manager.patch(
        f"/api/drafts/{draft_id}",
        json={"body": "The manager saved first."},
        headers={"If-Match": opened},
    )
    assert first.status_code == 200

    stale = client.patch(
        f"/api/drafts/{draft_id}",
        json={"body": "Sarah's edit of the old text."},
        headers={"If-Match": opened},
    )

    assert stale.status_code == 412
    assert stale.headers["etag"] == first.headers["etag"]
    data = stale.json()
    assert "does not match the draft's current ETag" in data["detail"]
    current = data["current"]
    assert etag(current["version"]) == first.headers["etag"]
    assert current["body"] == "The manager saved first."
    assert current["subject"] == "Congratulations on the new CFO"
    assert current["recipient"].startswith("Robert Ainsley")
    assert current["status"] == "pending" and current["revision"] == 2
    assert (current["changed_by"], current["change"]) == (MANAGER, "edited")
    assert current["changed_at"] is not None
    after = client.get(f"/api/drafts/{draft_id}").json()
    assert [r["body"] for r in after["revisions"]][-1] == "The manager saved first."
    assert len(after["revisions"]) == 2 and etag(after["version"]) == first.headers["etag"]


@pytest.mark.parametrize(("suffix", "body"), [("/approve", {}), ("/reject", {"reason": "no"})])
def test_an_action_applies_once_per_if_match(
    client: TestClient, sessions: sessionmaker[Session], suffix: str, body: dict[str, Any]
) -> None:
    draft_id = make_draft(sessions)
    opened = tag(client, draft_id)

    first = client.post(f"/api/drafts/{draft_id}{suffix}", json=body, headers={"If-Match": opened})
    again = client.patch(
        f"/api/drafts/{draft_id}", json={"body": "x"}, headers={"If-Match": opened}
    )

    assert first.status_code == 200
    assert again.status_code == 412
    assert again.json()["current"]["changed_by"] == REVIEWER
    assert again.json()["current"]["change"] == first.json()["status"]  # approved / rejected
    assert len(client.get(f"/api/drafts/{draft_id}").json()["revisions"]) == 1


def test_send_with_a_stale_if_match_is_412_and_sends_nothing(
    client: TestClient, sessions: sessionmaker[Session], outbox_dir: Path
) -> None:
    draft_id = make_draft(sessions)
    opened = tag(client, draft_id)
    assert client.post(f"/api/drafts/{draft_id}/approve", json={}).status_code == 200
    before = client.get(f"/api/drafts/{draft_id}").json()

    stale = client.post(f"/api/drafts/{draft_id}/send", headers={"If-Match": opened})

    assert stale.status_code == 412
    assert stale.json()["current"]["change"] == "approved"
    assert client.get(f"/api/drafts/{draft_id}").json()["status"] == before["status"]
    assert eml_files(outbox_dir) == []
    sent = client.post(f"/api/drafts/{draft_id}/send", headers={"If-Match": tag(client, draft_id)})
    assert sent.status_code == 200 and len(eml_files(outbox_dir)) == 1


def test_if_match_star_and_strong_tags_are_accepted(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    draft_id = make_draft(sessions)

    star = client.patch(f"/api/drafts/{draft_id}", json={"body": "A."}, headers={"If-Match": "*"})
    strong_tag = tag(client, draft_id).removeprefix("W/")
    strong = client.patch(
        f"/api/drafts/{draft_id}", json={"body": "B."}, headers={"If-Match": strong_tag}
    )
    junk = client.patch(
        f"/api/drafts/{draft_id}", json={"body": "C."}, headers={"If-Match": "version two"}
    )

    assert (star.status_code, strong.status_code, junk.status_code) == (200, 200, 412)
    assert junk.json()["current"]["body"] == "B."


def test_if_match_and_body_version_must_agree(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    draft_id = make_draft(sessions)
    version = client.get(f"/api/drafts/{draft_id}").json()["version"]

    response = client.patch(
        f"/api/drafts/{draft_id}",
        json={"body": "Which one?", "version": version + 1},
        headers={"If-Match": etag(version)},
    )

    assert response.status_code == 422
    assert (
        f"If-Match names version {version} but the body's version is {version + 1}"
        in response.json()["detail"]
    )
    assert client.get(f"/api/drafts/{draft_id}").json()["version"] == version


def test_without_if_match_a_stale_body_version_is_still_409_now_with_the_change(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    draft_id = make_draft(sessions)
    opened = client.get(f"/api/drafts/{draft_id}").json()["version"]
    client.patch(f"/api/drafts/{draft_id}", json={"subject": "Changed meanwhile"})

    stale = client.post(f"/api/drafts/{draft_id}/approve", json={"version": opened})
    unconditional = client.patch(f"/api/drafts/{draft_id}", json={"body": "Last writer."})

    assert stale.status_code == 409
    assert "changed since you opened it" in stale.json()["detail"]
    assert stale.json()["current"]["subject"] == "Changed meanwhile"
    assert unconditional.status_code == 200  # no If-Match, no version: today's behaviour


def test_a_stale_if_match_on_another_sams_draft_is_403_and_shows_nothing(
    signed_in: SignedIn, sessions: sessionmaker[Session]
) -> None:
    draft_id = make_draft(sessions)
    other = signed_in(OTHER_SAM)

    response = other.patch(
        f"/api/drafts/{draft_id}", json={"body": "x"}, headers={"If-Match": 'W/"99"'}
    )

    assert response.status_code == 403
    assert "current" not in response.json()
    assert "Congratulations" not in response.text
