"""Case files: validation errors that point at the case and field, and freezing snapshots."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TypedDict

import pytest
import yaml

from evals.freeze import freeze_file
from evals.schema import DATASETS, load_dataset
from retrieval.embeddings import Embedder
from samdesk.errors import InputError


class CaseFile(TypedDict):
    """A dataset file as written in YAML; the cases stay plain mappings, as the loader sees them."""

    name: str
    cases: list[dict[str, object]]


STUBS: CaseFile = {
    "name": "new",
    "cases": [
        {
            "id": "acme-new-retirement",
            "kind": "outreach",
            "as_of": "2026-11-26T00:00:00Z",
            "account": {"plan_file": "fixtures/accounts/acme-financial.md"},
            "trigger": {"signal_id": "sig-acme-009"},
            "expect": {"must_include": ["Linda Marsh"], "address": "Robert Ainsley"},
        },
        {
            "id": "acme-new-qbr",
            "kind": "briefing",
            "as_of": "2026-11-26T00:00:00Z",
            "account": {"plan_file": "fixtures/accounts/acme-financial.md"},
            "trigger": {
                "meeting": {"title": "Q4 QBR with CFO and COO", "starts_at": "2026-12-08T15:00:00Z"}
            },
        },
    ],
}


def _workspace(tmp_path: Path, data: object) -> Path:
    shutil.copytree(DATASETS / "fixtures", tmp_path / "fixtures")
    path = tmp_path / "new.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_invalid_cases_name_the_case_and_field(tmp_path: Path) -> None:
    broken = {
        "name": "x",
        "cases": [{**STUBS["cases"][0], "sources": [], "recipient": {"name": "R"}}],
    }
    with pytest.raises(InputError, match=r"cases\.acme-new-retirement\.sources"):
        load_dataset(_workspace(tmp_path, broken))
    source = {"id": "a/x", "kind": "plan", "section": "X", "title": "t", "text": "some text"}
    both = dict(STUBS["cases"][1], trigger={"signal_id": "a/x"}, sources=[source])
    with pytest.raises(InputError, match="briefing case needs trigger.meeting"):
        load_dataset(_workspace(tmp_path / "b", {"name": "x", "cases": [both]}))


def test_freeze_fills_snapshots_with_the_products_retrieval_once(
    tmp_path: Path, embedder: Embedder
) -> None:
    path = _workspace(tmp_path, STUBS)
    assert freeze_file(path, embedder) == 2
    outreach, briefing = load_dataset(path)
    sources = outreach.case.sources
    assert sources[0].id == "sig-acme-009" and len(sources) == 8
    assert all(s.id.startswith(("acme-financial/", "sig-acme-")) for s in sources)
    # The champion is retiring: the product's recipient rule picks the economic buyer.
    assert outreach.case.recipient is not None
    assert outreach.case.recipient.name == "Robert Ainsley"
    kinds = [s.kind for s in briefing.case.sources]
    assert kinds == ["plan"] * 4 + ["signal"] * 4
    frozen = path.read_text()
    assert freeze_file(path, embedder) == 0 and path.read_text() == frozen
