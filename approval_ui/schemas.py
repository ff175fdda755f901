"""Shapes of the JSON API, named by role."""

from __future__ import annotations

from datetime import datetime
from typing import Any

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


class DraftPublic(DraftSummary):
    sources: list[dict[str, Any]]
    findings: list[dict[str, Any]]
    usage: dict[str, Any]
    latency_ms: int
    failure_reason: str | None
    reject_reason: str | None
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
    version: int | None = None


class AuditPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    action: str
    actor: str
    revision_hash: str | None
    detail: dict[str, Any]
    at: datetime


class OutboxPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    draft_id: int
    revision_number: int
    message_id: str
    status: str
    attempts: int
    last_error: str | None
    location: str | None
    sent_at: datetime | None


class ErrorPublic(BaseModel):
    detail: str
