"""CSV exports (a CRM's, a news tool's) read through a column mapping.

Without a mapping the columns are the signal's own field names. A mapping file (YAML)
renames columns, maps the export's account names and categories onto samdesk's, and
says how dates are written::

    columns: {title: Headline, text: Summary, source_url: Link, published_at: Date,
              account_id: Account, type: Category, id: Record ID}
    accounts: {"Acme Financial Corp": acme-financial}
    types: {"Exec change": leadership_change, "Funding": funding}
    date_format: "%m/%d/%Y %H:%M"     # strptime; without it, ISO 8601
    timezone: America/New_York        # for dates that carry no offset
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from retrieval.sources.intake import RawItem, stable_id
from samdesk.errors import InputError

FIELDS = ("id", "account_id", "type", "title", "text", "source_url", "published_at")
REQUIRED = ("title", "source_url", "published_at")


class CsvMapping(BaseModel):
    model_config = ConfigDict(extra="forbid")

    columns: dict[str, str] = Field(default_factory=dict)
    account_id: str | None = None  # every row belongs to this account
    accounts: dict[str, str] = Field(default_factory=dict)
    types: dict[str, str] = Field(default_factory=dict)
    date_format: str | None = None
    timezone: str = "UTC"
    delimiter: str = ","

    @field_validator("columns")
    @classmethod
    def _known_fields(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(FIELDS))
        if unknown:
            raise ValueError(f"unknown signal field(s) {unknown}; use {list(FIELDS)}")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    def column(self, field: str) -> str:
        return self.columns.get(field, field)


def load_mapping(path: Path | None) -> CsvMapping:
    if path is None:
        return CsvMapping()
    try:
        data = yaml.safe_load(path.read_text()) or {}
        return CsvMapping.model_validate(data)
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(path, None, None, f"cannot read mapping: {exc}") from exc
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or None
        raise InputError(path, None, where, err["msg"]) from exc


def read_csv(
    path: Path, mapping: CsvMapping | None = None
) -> tuple[list[RawItem], list[InputError]]:
    """Rows as signal dicts; a bad row is reported with its line and field, the rest load."""
    mapping = mapping or CsvMapping()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        return [], [InputError(path, None, None, f"cannot read CSV: {exc}")]
    reader = csv.DictReader(io.StringIO(text), delimiter=mapping.delimiter)
    header = reader.fieldnames or []
    needed = [f for f in REQUIRED if mapping.column(f) not in header]
    if mapping.account_id is None and mapping.column("account_id") not in header:
        needed.append("account_id")
    if needed:
        cols = ", ".join(f"{f} (column {mapping.column(f)!r})" for f in needed)
        return [], [InputError(path, 1, needed[0], f"missing column(s): {cols}")]
    items: list[RawItem] = []
    errors: list[InputError] = []
    for row in reader:
        line = reader.line_num
        data: dict[str, str] = {
            f: (row.get(mapping.column(f)) or "").strip()
            for f in FIELDS
            if mapping.column(f) in row
        }
        problem = _convert(data, mapping)
        if problem:
            errors.append(InputError(path, line, problem[0], problem[1]))
            continue
        items.append(RawItem(f"{path}:{line}", dict(data)))
    return items, errors


def _convert(data: dict[str, str], mapping: CsvMapping) -> tuple[str, str] | None:
    account = mapping.account_id or data.get("account_id", "")
    data["account_id"] = mapping.accounts.get(account, account)
    if data.get("type"):
        data["type"] = mapping.types.get(data["type"], data["type"])
    data["text"] = data.get("text") or data.get("title", "")
    raw_date = data.get("published_at", "")
    try:
        when = (
            datetime.strptime(raw_date, mapping.date_format)  # noqa: DTZ007 - zone added below
            if mapping.date_format
            else datetime.fromisoformat(raw_date.replace("Z", "+00:00"))
        )
    except ValueError:
        fmt = mapping.date_format or "ISO 8601"
        return "published_at", f"{raw_date!r} is not a date in {fmt}"
    if when.tzinfo is None:
        when = when.replace(tzinfo=ZoneInfo(mapping.timezone))
    data["published_at"] = when.isoformat()
    if not data.get("id") and data.get("source_url"):
        data["id"] = stable_id("csv", data["account_id"], data["source_url"])
    return None
