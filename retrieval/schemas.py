"""What a valid account plan and a valid signal look like.

These models are the contract for sample data, user files and (later) feeds: anything
that does not fit is rejected with the field that broke it.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, HttpUrl, field_validator

SLUG = r"^[a-z0-9][a-z0-9-]{1,62}$"

StakeholderRole = Literal[
    "economic_buyer",
    "champion",
    "technical_evaluator",
    "executive_sponsor",
    "user",
    "procurement",
    "blocker",
    "influencer",
]
RelationshipStrength = Literal["strong", "good", "neutral", "weak", "none"]
OpportunityStage = Literal["discovery", "qualification", "proposal", "negotiation", "commit"]
MetricStatus = Literal["on_track", "progressing", "exceeded", "at_risk", "off_track"]
SignalType = Literal[
    "leadership_change",
    "funding",
    "hiring_surge",
    "earnings_mention",
    "product_launch",
    "budget_freeze",
    "layoffs",
    "m_and_a",
    "competitor_rfp",
    "support_spike",
    "partnership",
    "noise",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ScoreCriterion(_Strict):
    criterion: str = Field(min_length=1)
    weight: int = Field(ge=0, le=100)
    score: int = Field(ge=0, le=10)
    evidence: str = ""


class Stakeholder(_Strict):
    name: str = Field(min_length=1)
    title: str = Field(min_length=1)
    role: StakeholderRole
    relationship: RelationshipStrength
    email: str | None = None
    notes: str | None = None


class Opportunity(_Strict):
    name: str = Field(min_length=1)
    value_usd: int = Field(ge=0)
    stage: OpportunityStage
    close_date: date | None = None
    module: str | None = None


class Metric(_Strict):
    metric: str = Field(min_length=1)
    current: str
    target: str
    status: MetricStatus

    @field_validator("current", "target", mode="before")
    @classmethod
    def _as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int | float) else value


class Meeting(_Strict):
    title: str = Field(min_length=1)
    starts_at: AwareDatetime
    attendees: list[str] = Field(default_factory=list)


class AccountPlan(_Strict):
    """Front matter of a plan file plus its Markdown sections (heading -> text)."""

    account_id: str = Field(pattern=SLUG)
    name: str = Field(min_length=1)
    industry: str
    domain: str
    owner_sam: str
    owner_email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    executive_sponsor: str
    arr_usd: int = Field(ge=0)
    renewal_date: date | None = None
    last_contact: date | None = None
    review_period: str | None = None
    scorecard: list[ScoreCriterion] = Field(min_length=1)
    stakeholders: list[Stakeholder] = Field(default_factory=list)
    opportunities: list[Opportunity] = Field(default_factory=list)
    metrics: list[Metric] = Field(default_factory=list)
    meetings: list[Meeting] = Field(default_factory=list)
    sections: dict[str, str] = Field(default_factory=dict)

    @field_validator("scorecard")
    @classmethod
    def _weights_sum_to_100(cls, rows: list[ScoreCriterion]) -> list[ScoreCriterion]:
        total = sum(row.weight for row in rows)
        if total != 100:
            raise ValueError(f"scorecard weights must sum to 100, they sum to {total}")
        return rows

    @property
    def strategic_score(self) -> float:
        """Weighted score out of 100, as in the strategic account scorecard."""
        return round(sum(row.weight * row.score for row in self.scorecard) / 10, 1)


class Signal(_Strict):
    """One piece of account news. Its text is untrusted: it came from the internet."""

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
    account_id: str = Field(pattern=SLUG)
    type: SignalType
    title: str = Field(min_length=1, max_length=300)
    text: str = Field(min_length=1, max_length=20_000)
    source_url: HttpUrl
    published_at: AwareDatetime
