"""Ask the model again: a rewrite with a reviewer's instruction (every earlier revision
stays), or a new try at a draft whose reply could not be used.

The model call can take a minute, so it runs outside any transaction: the draft is read,
the model asked, and the result applied only if nobody changed the draft meanwhile (the
version read first must still be current, else 409 and the draft is untouched).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from agent.drafting import Drafter
from approval_ui import crud, permissions
from approval_ui.draft_inputs import stored_inputs
from approval_ui.permissions import InvalidRequestError, Principal
from retrieval.index import RetrievedChunk
from samdesk.db import transaction
from samdesk.errors import DraftSchemaError, StateError
from samdesk.models import Draft

SUGGESTIONS = ("shorter", "more formal", "warmer", "lead with the ROI numbers")
MAX_INSTRUCTION = 500
# Seeds of a failed draft's new tries: far from any configured seed, a new one each try.
RETRY_SEED = 1_000


def regenerate_draft(
    sessions: sessionmaker[Session],
    draft_id: int,
    *,
    drafter: Callable[[], Drafter],
    user: Principal,
    instruction: str,
    expected_version: int | None = None,
) -> int:
    """Ask the model for a rewrite and store it as a new revision; returns its number."""
    instruction = " ".join(instruction.split())
    if not instruction:
        raise InvalidRequestError("say how to change the draft, e.g. 'shorter'")
    if len(instruction) > MAX_INSTRUCTION:
        raise InvalidRequestError(f"keep the instruction under {MAX_INSTRUCTION} characters")
    with sessions() as session:
        draft = _readable(session, draft_id, user, expected_version)
        if draft.status not in crud.EDITABLE:
            raise StateError(f"draft {draft_id} is {draft.status}; it cannot be regenerated")
        version = draft.version
        inputs = stored_inputs(session, draft)
        current = draft.current
        previous = {
            "subject": current.subject,
            "body": current.body,
            "citations": list(current.citations),
        }
        recipient = current.recipient
    result = drafter().regenerate(
        inputs.plan,
        inputs.kind,
        [RetrievedChunk(chunk, 1.0, 1.0) for chunk in inputs.sources],
        previous,
        instruction,
        prompt=inputs.prompt,
        trigger=inputs.trigger,
        recipient=recipient,
    )
    if result.output is None:
        raise DraftSchemaError(
            f"the model's rewrite could not be used ({result.failure_reason}); "
            f"draft {draft_id} is unchanged"
        )
    with transaction(sessions) as session:
        draft = crud.get_draft(session, draft_id, for_update=True)
        crud.apply_regeneration(
            session,
            draft,
            by=user.email,
            output=result.output,
            findings=[f.to_json() for f in result.findings],
            instruction=instruction,
            expected_version=version,
            model=result.model,
            usage=result.usage,
        )
        return draft.current.number


def retry_failed_draft(
    sessions: sessionmaker[Session],
    draft_id: int,
    *,
    drafter: Callable[[], Drafter],
    user: Principal,
    approval_ttl: timedelta,
    expected_version: int | None = None,
) -> str:
    """Draft a failed draft again from its stored sources; returns its status after."""
    with sessions() as session:
        draft = _readable(session, draft_id, user, expected_version)
        if draft.status != "failed":
            raise StateError(
                f"draft {draft_id} is {draft.status}; only a failed draft can be retried"
            )
        version = draft.version
        inputs = stored_inputs(session, draft)
    result = drafter().redraft(
        inputs.plan,
        inputs.kind,
        [RetrievedChunk(chunk, 1.0, 1.0) for chunk in inputs.sources],
        prompt=inputs.prompt,
        trigger=inputs.trigger,
        seed=RETRY_SEED + version,  # every try (and every failure) bumps the version
    )
    with transaction(sessions) as session:
        draft = crud.get_draft(session, draft_id, for_update=True)
        crud.apply_retry(
            session,
            draft,
            by=user.email,
            result=result,
            expected_version=version,
            approval_ttl=approval_ttl,
        )
        return draft.status


def _readable(
    session: Session, draft_id: int, user: Principal, expected_version: int | None
) -> Draft:
    """The draft the model is to be asked about, refused (403, 409) before the slow call."""
    draft = crud.get_draft(session, draft_id)
    permissions.check_draft(session, user, draft)
    crud.check_version(draft, expected_version)
    return draft
