"""Wire the real components from ``Settings``: database, index, model, drafter.

The CLI and the demo use this; the desk only needs the database and builds its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from agent.drafting import Drafter, DraftFailedError, DraftResult
from agent.llm import ChatModel
from agent.openai_chat import OpenAIChatModel
from agent.redaction import RedactingChatModel
from approval_ui import crud
from approval_ui.draft_inputs import account_directory
from retrieval.embeddings import make_embedder
from retrieval.index import Ranking, VectorIndex
from retrieval.schemas import AccountPlan, Meeting
from samdesk.config import Settings
from samdesk.db import make_engine, migrate, session_factory, transaction
from samdesk.errors import NotFoundError
from samdesk.models import Account, Draft, SignalRecord

ACTIONABLE_DAYS = 60


@dataclass
class Runtime:
    settings: Settings
    sessions: sessionmaker[Session]

    @classmethod
    def open(cls, settings: Settings) -> Runtime:
        engine = make_engine(
            settings.resolved_database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms
        )
        migrate(engine)
        return cls(settings, session_factory(engine))

    @cached_property
    def index(self) -> VectorIndex:
        key = self.settings.openai_api_key
        embedder = make_embedder(
            self.settings.embedding_model, openai_api_key=key.get_secret_value() if key else None
        )
        if self.settings.chroma_url:
            return VectorIndex.http(
                self.settings.chroma_url, embedder, self.settings.chroma_collection
            )
        return VectorIndex.persistent(
            self.settings.chroma_dir, embedder, self.settings.chroma_collection
        )

    @cached_property
    def drafter(self) -> Drafter:
        s = self.settings
        endpoint = s.llm_endpoint()
        llm: ChatModel = OpenAIChatModel(endpoint, s)
        redact = s.redact_pii if s.redact_pii is not None else endpoint.provider != "embedded"
        if redact:
            llm = RedactingChatModel(llm)
        with self.sessions() as session:
            directory = account_directory(session)
        return Drafter(
            llm=llm,
            directory=directory,
            index=self.index,
            seller=s.seller_company,
            k=s.retrieval_k,
            ranking=Ranking(s.recency_weight, s.recency_half_life_days),
            stale_after_days=s.stale_after_days,
            prompt_token_budget=s.prompt_token_budget,
        )

    def plan(self, account_id: str) -> AccountPlan:
        with self.sessions() as session:
            account = session.get(Account, account_id)
            if account is None:
                raise NotFoundError(f"account {account_id!r} is not ingested; run `samdesk ingest`")
            return AccountPlan.model_validate(account.plan)

    def draft_outreach(
        self,
        account_id: str,
        signal_id: str,
        *,
        prompt: str | None = None,
        as_of: datetime | None = None,
    ) -> Draft:
        plan = self.plan(account_id)
        try:
            result = self.drafter.draft_outreach(
                plan, signal_id, prompt=prompt or self.settings.outreach_prompt, as_of=as_of
            )
        except DraftFailedError as exc:
            result = exc.result  # no answer from the model: a failed draft says why
        return self.store(result)

    def draft_briefing(
        self,
        account_id: str,
        meeting_title: str | None = None,
        *,
        prompt: str | None = None,
        as_of: datetime | None = None,
    ) -> Draft:
        plan = self.plan(account_id)
        try:
            result = self.drafter.draft_briefing(
                plan,
                pick_meeting(plan, meeting_title),
                prompt=prompt or self.settings.briefing_prompt,
                as_of=as_of,
            )
        except DraftFailedError as exc:
            result = exc.result  # no answer from the model: a failed draft says why
        return self.store(result)

    def store(self, result: DraftResult) -> Draft:
        with transaction(self.sessions) as session:
            ttl = timedelta(hours=self.settings.approval_ttl_hours)
            return crud.create_draft(session, result=result, approval_ttl=ttl)

    def has_draft(self, account_id: str, kind: str, trigger: dict[str, Any]) -> bool:
        with self.sessions() as session:
            drafts = session.scalars(
                select(Draft).where(Draft.account_id == account_id, Draft.kind == kind)
            )
            return any(_same_trigger(d.trigger, trigger) for d in drafts)

    def demo_targets(self, as_of: datetime) -> list[tuple[str, str, dict[str, Any]]]:
        """Per account: a briefing for its next meeting and outreach for its freshest news."""
        targets: list[tuple[str, str, dict[str, Any]]] = []
        with self.sessions() as session:
            accounts = list(
                session.scalars(select(Account).order_by(Account.strategic_score.desc()))
            )
            for account in accounts:
                plan = AccountPlan.model_validate(account.plan)
                if plan.meetings:
                    meeting = min(plan.meetings, key=lambda m: m.starts_at)
                    targets.append(("briefing", account.id, {"title": meeting.title}))
                signal = session.scalars(
                    select(SignalRecord)
                    .where(
                        SignalRecord.account_id == account.id,
                        SignalRecord.type != "noise",
                        SignalRecord.published_at >= as_of - timedelta(days=ACTIONABLE_DAYS),
                    )
                    .order_by(SignalRecord.published_at.desc())
                ).first()
                if signal is not None:
                    targets.append(("outreach", account.id, {"signal_id": signal.id}))
        return targets


def pick_meeting(plan: AccountPlan, title: str | None) -> Meeting:
    if title is None:
        if not plan.meetings:
            raise NotFoundError(f"{plan.account_id} has no upcoming meetings; pass --meeting")
        return min(plan.meetings, key=lambda m: m.starts_at)
    for meeting in plan.meetings:
        if meeting.title.lower() == title.lower():
            return meeting
    return Meeting(title=title, starts_at=datetime.now(UTC), attendees=[])


def _same_trigger(stored: dict[str, Any], wanted: dict[str, Any]) -> bool:
    return all(stored.get(key) == value for key, value in wanted.items())
