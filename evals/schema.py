"""What an eval case is: an account fixture, a frozen retrieval snapshot, and expectations.

The snapshot (chunk ids and text) is part of the case so that two prompt versions are
compared on generation alone: a change to retrieval or to the sample data cannot move the
scores of a prompt that did not change.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from retrieval.chunks import Chunk
from retrieval.plans import load_plan
from retrieval.schemas import SLUG, AccountPlan, Meeting
from samdesk.errors import InputError

DATASETS = Path(__file__).resolve().parent / "datasets"
Kind = Literal["outreach", "briefing"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SourceSnapshot(_Strict):
    """One retrieved chunk as the model saw it."""

    id: str = Field(min_length=1)
    kind: Literal["plan", "signal"]
    section: str
    title: str
    text: str = Field(min_length=1)
    published_at: AwareDatetime | None = None
    url: str | None = None
    flags: list[str] = Field(default_factory=list)  # possible prompt-injection marks

    def chunk(self, account_id: str) -> Chunk:
        return Chunk(
            self.id,
            account_id,
            self.kind,
            self.section,
            self.title,
            self.text,
            self.published_at,
            self.url,
            tuple(self.flags),
        )


class AccountFixture(_Strict):
    """The plan, either a frozen plan file (relative to the dataset) or inline (exports)."""

    plan_file: str | None = None
    plan: AccountPlan | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> AccountFixture:
        if (self.plan_file is None) == (self.plan is None):
            raise ValueError("give exactly one of plan_file or plan")
        return self


class Trigger(_Strict):
    signal_id: str | None = None
    meeting: Meeting | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Trigger:
        if (self.signal_id is None) == (self.meeting is None):
            raise ValueError("give exactly one of signal_id (outreach) or meeting (briefing)")
        return self


class Recipient(_Strict):
    name: str
    title: str = ""
    role: str = ""
    email: str | None = None


class Expectations(_Strict):
    """What a good draft for this case must and must not do."""

    # Each fact is a phrase, or a list of equivalent phrasings ("2027-03-31", "March 31").
    must_include: list[str | list[str]] = Field(default_factory=list)
    # Claims that must not appear: facts absent from the sources, competitors, unplanned prices.
    must_not_include: list[str] = Field(default_factory=list)
    address: str | None = None
    min_words: int | None = Field(default=None, ge=0)
    max_words: int | None = Field(default=None, ge=1)
    call_to_action: bool | None = None
    sections: list[str] = Field(default_factory=list)
    max_grade: float | None = 16.0
    min_supported_rate: float = Field(default=0.8, ge=0, le=1)


class Reference(_Strict):
    """The SAM's final text for an exported desk edit."""

    subject: str
    body: str
    draft_id: int | None = None
    model_body: str | None = None


class Avoid(_Strict):
    """A rejected draft: the reason is the failure a new draft must not repeat."""

    reason: str
    body: str
    draft_id: int | None = None


class Case(_Strict):
    id: str = Field(pattern=SLUG)
    description: str = ""
    kind: Kind
    tags: list[str] = Field(default_factory=list)
    as_of: AwareDatetime
    account: AccountFixture
    trigger: Trigger
    recipient: Recipient | None = None
    sources: list[SourceSnapshot] = Field(min_length=1)
    expect: Expectations = Field(default_factory=Expectations)
    reference: Reference | None = None
    avoid: Avoid | None = None

    @model_validator(mode="after")
    def _trigger_fits_kind(self) -> Case:
        if self.kind == "outreach":
            if self.trigger.signal_id is None or self.recipient is None:
                raise ValueError("an outreach case needs trigger.signal_id and a recipient")
            if self.sources[0].id != self.trigger.signal_id:
                raise ValueError("an outreach case's first source must be its trigger signal")
        elif self.trigger.meeting is None:
            raise ValueError("a briefing case needs trigger.meeting")
        ids = [s.id for s in self.sources]
        if len(set(ids)) != len(ids):
            raise ValueError("source ids must be unique")
        return self


class Dataset(_Strict):
    name: str
    description: str = ""
    cases: list[Case]


class LoadedCase:
    """A validated case with its plan resolved, ready to draft from."""

    def __init__(self, case: Case, plan: AccountPlan, dataset: str):
        self.case = case
        self.plan = plan
        self.dataset = dataset

    @property
    def id(self) -> str:
        return self.case.id

    def chunks(self) -> list[Chunk]:
        return [s.chunk(self.plan.account_id) for s in self.case.sources]


def load_dataset(path: Path) -> list[LoadedCase]:
    """Validate one dataset file; any problem raises ``InputError`` naming case and field."""
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(path, None, None, f"cannot read dataset: {exc}") from exc
    try:
        dataset = Dataset.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = [str(p) for p in first["loc"]]
        if len(loc) >= 2 and loc[0] == "cases" and isinstance(raw, dict):
            loc[1] = str(raw["cases"][int(loc[1])].get("id", loc[1]))
        raise InputError(path, None, ".".join(loc), first["msg"]) from exc
    seen: set[str] = set()
    loaded = []
    for case in dataset.cases:
        if case.id in seen:
            raise InputError(path, None, f"cases.{case.id}", "duplicate case id")
        seen.add(case.id)
        loaded.append(LoadedCase(case, _plan(case, path), dataset.name))
    return loaded


def load_datasets(paths: list[Path] | None = None) -> list[LoadedCase]:
    """Every case of the given files or folders (default: the shipped datasets)."""
    files: list[Path] = []
    for path in paths or [DATASETS]:
        files += sorted(path.glob("*.yaml")) if path.is_dir() else [path]
    cases = [c for f in files for c in load_dataset(f)]
    ids = [c.id for c in cases]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise InputError(files[0].parent, None, "id", f"case ids repeat: {', '.join(duplicates)}")
    return cases


def _plan(case: Case, path: Path) -> AccountPlan:
    if case.account.plan is not None:
        return case.account.plan
    assert case.account.plan_file is not None
    plan, errors = load_plan(path.parent / case.account.plan_file)
    if plan is None:
        raise errors[0]
    return plan


def dump_dataset(dataset: Dataset, path: Path) -> None:
    """Write a dataset as readable YAML (block strings, no aliases, stable key order)."""
    data = dataset.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    path.write_text(yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100))


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)
