"""Word diffs between revisions, and the normalised edit distance the stats page reports."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from approval_ui.diffs import Segment, edit_distance, word_diff
from tests.approval_ui.conftest import Desk, owned_draft


def test_a_word_diff_marks_what_was_removed_and_added() -> None:
    assert word_diff("Could we meet next week?", "Could we meet on Tuesday?") == [
        Segment("same", "Could we meet "),
        Segment("removed", "next week?"),
        Segment("added", "on Tuesday?"),
    ]
    assert word_diff("same text", "same text") == [Segment("same", "same text")]


def test_edit_distance_is_normalised_between_0_and_1() -> None:
    assert edit_distance("hello world", "hello world") == 0.0
    assert edit_distance("abc", "xyz") == 1.0
    assert edit_distance("kitten", "sitting") == round(3 / 7, 4)


def test_the_draft_page_diffs_against_the_original_and_the_previous_revision(
    client: TestClient, sessions: sessionmaker[Session], desk: Desk
) -> None:
    draft_id = owned_draft(sessions, body="Hi Robert, congratulations on the CFO news.")
    assert 'id="changes"' not in client.get(f"/drafts/{draft_id}").text  # nothing to compare
    desk.edit(draft_id, body="Hi Robert, congratulations on the new CFO.")
    desk.edit(draft_id, subject="<b>New</b> subject")

    html = client.get(f"/drafts/{draft_id}").text

    assert "Against the model&#39;s original: r1 → r3" in html
    assert "Against the previous revision: r2 → r3" in html
    assert "<del>CFO news.</del><ins>new CFO.</ins>" in html
    assert "<ins>&lt;b&gt;New&lt;/b&gt; subject</ins>" in html  # diff text is escaped
    original = client.get(f"/api/drafts/{draft_id}/diff").json()
    previous = client.get(f"/api/drafts/{draft_id}/diff", params={"against": "previous"}).json()
    assert (original["old"], original["new"], previous["old"]) == (1, 3, 2)
    changed = {f["field"] for f in original["fields"] if f["changed"]}
    assert changed == {"subject", "body"}
    assert {f["field"] for f in previous["fields"] if f["changed"]} == {"subject"}
