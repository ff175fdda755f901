"""export-edits: desk outcomes become cases that load, draft and score like shipped ones."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from sqlalchemy.orm import Session, sessionmaker

from agent.llm import ScriptedChatModel
from agent.prompts import load_prompt
from approval_ui import crud
from evals.evaluators import EvalContext
from evals.evaluators.reference import ReferenceMatch
from evals.export import export_edits
from evals.generate import draft_case, drafter_for
from evals.schema import Dataset, LoadedCase, dump_dataset, load_dataset
from samdesk.config import Settings
from samdesk.db import transaction
from samdesk.models import Account

SAM = "sarah.chen@northwind.example"
MODEL_BODY = (
    "Hi Robert, Linda Marsh retires on March 31, 2027 [sig-acme-009]. We saved "
    "$9.9M last year. Can we meet?\nSarah Chen"
)
FINAL_BODY = (
    "Dear Robert,\nLinda Marsh retires on March 31, 2027 [sig-acme-009]. Could we "
    "agree the handover in the next two weeks?\nBest regards,\nSarah Chen"
)


def _draft(
    sessions: sessionmaker[Session], loaded: LoadedCase, settings: Settings, body: str
) -> int:
    reply = json.dumps(
        {"subject": "Linda's retirement", "body": body, "citations": ["sig-acme-009"]}
    )
    result = draft_case(
        drafter_for(ScriptedChatModel([reply]), settings), loaded, load_prompt("outreach@v1")
    )
    with transaction(sessions) as session:
        if session.get(Account, "acme-financial") is None:
            plan = loaded.plan
            session.add(
                Account(
                    id=plan.account_id,
                    name=plan.name,
                    industry=plan.industry,
                    owner_sam=plan.owner_sam,
                    owner_email=plan.owner_email,
                    arr_usd=plan.arr_usd,
                    strategic_score=plan.strategic_score,
                    plan=plan.model_dump(mode="json"),
                    plan_hash="x",
                )
            )
            session.flush()
        return crud.create_draft(session, result=result).id


def _desk(sessions: sessionmaker[Session], loaded: LoadedCase, settings: Settings) -> None:
    edited = _draft(sessions, loaded, settings, MODEL_BODY)
    as_is = _draft(sessions, loaded, settings, MODEL_BODY)
    rejected = _draft(sessions, loaded, settings, MODEL_BODY)
    with transaction(sessions) as session:
        draft = crud.get_draft(session, edited)
        crud.edit_draft(session, draft, by=SAM, body=FINAL_BODY)
        crud.approve(session, draft, by=SAM, mail_from=SAM, confirm_flags=True)
        crud.approve(
            session, crud.get_draft(session, as_is), by=SAM, mail_from=SAM, confirm_flags=True
        )
        crud.reject(
            session,
            crud.get_draft(session, rejected),
            by=SAM,
            reason="Invented the $9.9M savings figure",
        )


def test_edits_and_rejections_become_cases(
    sessions: sessionmaker[Session],
    shipped: dict[str, LoadedCase],
    settings: Settings,
    tmp_path: Path,
) -> None:
    loaded = shipped["acme-champion-retiring"]
    _desk(sessions, loaded, settings)
    with sessions() as session:
        dataset = export_edits(session, as_of="2026-11-26T00:00:00+00:00")
    edit, rejected = dataset.cases  # the draft approved as written teaches nothing
    assert edit.id.endswith("edit-1") and rejected.id.endswith("rejected-3")
    assert edit.reference is not None and edit.reference.body == FINAL_BODY
    assert edit.reference.model_body == MODEL_BODY
    # The SAM deleted the figure the product had flagged: a new draft must not say it.
    assert edit.expect.must_not_include == ["$9.9M"]
    assert edit.expect.address == "Robert Ainsley" and edit.expect.call_to_action is True
    assert rejected.avoid is not None and "$9.9M savings" in rejected.avoid.reason
    assert [s.id for s in edit.sources] == [s.id for s in loaded.case.sources]

    path = tmp_path / "edits.yaml"
    dump_dataset(dataset, path)
    reloaded = load_dataset(path)[0]
    # The exported case replays the very prompt the desk's draft was made from.
    assert reloaded.plan == loaded.plan
    reply = json.dumps({"subject": "Handover", "body": FINAL_BODY, "citations": ["sig-acme-009"]})
    model = ScriptedChatModel([reply])
    result = draft_case(drafter_for(model, settings), reloaded, load_prompt("outreach@v1"))
    original = ScriptedChatModel([reply])
    draft_case(drafter_for(original, settings), loaded, load_prompt("outreach@v1"))
    assert model.requests[0] == original.requests[0]
    scores = {r.name: r.value for r in ReferenceMatch().evaluate(EvalContext(reloaded, result))}
    assert scores == {"reference_similarity": 1.0, "edit_distance": 0.0}


def test_anonymized_export_is_consistent_and_names_no_one(
    sessions: sessionmaker[Session],
    shipped: dict[str, LoadedCase],
    settings: Settings,
    tmp_path: Path,
) -> None:
    loaded = shipped["acme-champion-retiring"]
    _desk(sessions, loaded, settings)
    with sessions() as session:
        dataset = export_edits(session, anonymize=True)
    path = tmp_path / "edits.yaml"
    dump_dataset(dataset, path)
    text = path.read_text()
    for real in (
        "Robert",
        "Ainsley",
        "Linda",
        "Marsh",
        "Sarah",
        "Acme",
        "acmefinancial",
        "sarah.chen",
        "Okoro",
        "Nadia Brooks",
    ):
        assert real.lower() not in text.lower(), real
    case = load_dataset(path)[0]
    assert isinstance(yaml.safe_load(text), dict) and isinstance(dataset, Dataset)
    # One person, one pseudonym: recipient, plan, sources and the SAM's text agree.
    assert case.case.recipient is not None
    who = case.case.recipient.name
    assert who in [s.name for s in case.plan.stakeholders]
    assert case.case.expect.address == who
    assert case.case.reference is not None
    assert case.case.reference.body.startswith(f"Dear {who.split()[0]},")
    assert case.case.trigger.signal_id == case.case.sources[0].id
    assert case.plan.account_id == "company-a" and case.plan.domain == "company-a.example"
