"""Shapes of the JSON API, named by role."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class RevisionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    number: int
    subject: str
    body: str
    recipient: str
    citations: list[str]
    author: str
    note: str | None
    content_hash: str
    created_at: datetime


class DraftSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    account_id: str
    status: str
    subject: str | None
    trigger: dict[str, Any]
    prompt: str
    model: str
    flags: int
    version: int
    created_at: datetime
    priority: float | None = Field(
        default=None, description="queue rank of an open draft: score and urgency, 0-1"
    )
    priority_reason: str | None = None
    reject_reason: str | None = None


class DraftPublic(DraftSummary):
    sources: list[dict[str, Any]]
    findings: list[dict[str, Any]]
    usage: dict[str, Any]
    latency_ms: int
    failure_reason: str | None
    approved_revision: int | None
    approved_hash: str | None
    approved_by: str | None
    approved_at: datetime | None
    revisions: list[RevisionPublic]


class DraftUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: str | None = Field(default=None, min_length=1, max_length=500)
    body: str | None = Field(default=None, min_length=1, max_length=50_000)
    recipient: str | None = Field(default=None, min_length=1, max_length=500)
    version: int | None = Field(default=None, description="the version you edited; 409 if stale")


class ApproveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int | None = None
    confirm_flags: bool = Field(default=False, description="approve despite grounding flags")


class RejectRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)
    category: str | None = Field(
        default=None, description="one of GET /api/reject-reasons, e.g. wrong_recipient"
    )
    version: int | None = None


class RegenerateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    instruction: str = Field(min_length=1, max_length=500, examples=["shorter", "more formal"])
    version: int | None = None


class ReassignRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    assignee: str = Field(min_length=3, max_length=320, description="email of an active SAM")


class ReassignedPublic(BaseModel):
    draft_ids: list[int]
    assignee: str


class SegmentPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    op: str
    text: str


class FieldDiffPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    field: str
    changed: bool
    segments: list[SegmentPublic]


class DiffPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    old: int
    new: int
    changed: bool
    fields: list[FieldDiffPublic]


class AuditPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    action: str
    actor: str
    revision_hash: str | None
    detail: dict[str, Any]
    at: datetime


class OutboxPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    draft_id: int
    revision_number: int
    message_id: str
    status: str = Field(description="queued, sending, sent, failed, unknown or cancelled")
    attempts: int
    last_error: str | None
    location: str | None
    sent_at: datetime | None
    next_attempt_at: datetime | None = Field(description="when a queued retry is due")


class ResolveRequest(BaseModel):
    """A person's answer for a send whose outcome is unknown."""

    model_config = ConfigDict(extra="forbid")

    outcome: Literal["delivered", "send_again"]
    note: str = Field(default="", max_length=500)


class VersionRequest(BaseModel):
    """An action that needs nothing but the version the client saw (reopen, retry)."""

    model_config = ConfigDict(extra="forbid")

    version: int | None = Field(default=None, description="the version you saw; 409 if stale")


class ErrorPublic(BaseModel):
    detail: str = Field(description="what went wrong, in words for a person")


class DraftChangePublic(BaseModel):
    """The draft as it is now, and who changed it last: what a stale client missed."""

    version: int
    status: str
    revision: int | None
    subject: str | None
    body: str | None
    recipient: str | None
    changed_by: str | None
    change: str | None = Field(description="the audit action of the last change, e.g. edited")
    changed_at: datetime | None


class ConflictPublic(ErrorPublic):
    current: DraftChangePublic | None = Field(
        default=None, description="set when the refusal is a stale version"
    )


class ValidationErrorPublic(ErrorPublic):
    errors: list[dict[str, Any]] = Field(
        default_factory=list, description="each invalid field: loc, msg, type"
    )


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    name: str
    role: str
    active: bool
    created_at: datetime


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=320)
    name: str = Field(min_length=1, max_length=200)
    role: Literal["sam", "manager", "admin"] = "sam"
    password: str = Field(min_length=10, max_length=200)


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    role: Literal["sam", "manager", "admin"] | None = None
    active: bool | None = None
    password: str | None = Field(default=None, min_length=10, max_length=200)


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, examples=["CRM sync"])


class TokenPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenIssued(TokenPublic):
    token: str = Field(description="the secret: shown once, store it now")
