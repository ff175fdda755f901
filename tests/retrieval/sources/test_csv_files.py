"""CSV exports through a column mapping: good rows load, bad rows are named by line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.sources.csv_files import load_mapping, read_csv
from retrieval.sources.intake import validate_all
from samdesk.errors import InputError

ACCOUNTS = {"acme-financial": "Acme Financial Corp", "brightline-energy": "Brightline Energy"}
CRM = (
    "\n".join(
        [
            "Record ID,Account,Category,Headline,Summary,Link,Date",
            "N-1,Acme Financial Corp,Exec change,Acme names new CDO,"
            "Acme Financial Corp named Priya Shah Chief Data Officer.,"
            "https://n.example/1,11/20/2026 09:30",
            "N-2,Brightline Energy,,Brightline Energy wins $95M grid grant,"
            "The DOE awarded Brightline Energy a $95 million grant.,"
            "https://n.example/2,11/19/2026 10:00",
            "N-3,Acme Financial Corp,Exec change,Bad date,Text.,https://n.example/3,2026-13-45",
            "N-4,Unknown Co,Funding,Who?,Text.,https://n.example/4,11/18/2026 10:00",
            "N-5,Acme Financial Corp,Rumour,Odd category,Text.,not-a-url,11/18/2026 10:00",
        ]
    )
    + "\n"
)
MAPPING = """columns: {id: Record ID, account_id: Account, type: Category, title: Headline,
          text: Summary, source_url: Link, published_at: Date}
accounts: {"Acme Financial Corp": acme-financial, "Brightline Energy": brightline-energy}
types: {"Exec change": leadership_change, Funding: funding}
date_format: "%m/%d/%Y %H:%M"
timezone: America/New_York
"""


@pytest.fixture
def export(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "crm.csv").write_text(CRM)
    (tmp_path / "crm.yaml").write_text(MAPPING)
    return tmp_path / "crm.csv", tmp_path / "crm.yaml"


def test_a_crm_export_maps_onto_signals_and_bad_rows_are_named(export: tuple[Path, Path]) -> None:
    csv_path, mapping_path = export
    raw, errors = read_csv(csv_path, load_mapping(mapping_path))
    assert [str(e) for e in errors] == [
        f"{csv_path}:4: field 'published_at' '2026-13-45' is not a date in %m/%d/%Y %H:%M"
    ]
    good, invalid = validate_all(raw, ACCOUNTS)
    assert [c.signal.id for c in good] == ["N-1", "N-2"]
    first = good[0]
    assert (first.signal.type, first.type_declared) == ("leadership_change", True)
    assert first.signal.published_at.isoformat() == "2026-11-20T09:30:00-05:00"
    # no category: the triage rules read the type from the words
    assert (good[1].signal.type, good[1].type_declared) == ("funding", False)
    problems = sorted((e.path, e.field) for e in invalid)
    assert problems == [
        (f"{csv_path}:5", "account_id"),
        (f"{csv_path}:6", "source_url"),
        (f"{csv_path}:6", "type"),
    ]


def test_without_an_id_column_ids_are_stable_per_account_and_url(tmp_path: Path) -> None:
    path = tmp_path / "plain.csv"
    path.write_text(
        "account_id,title,text,source_url,published_at\n"
        "acme-financial,Acme Financial raises $750M,Acme Financial Corp sold notes.,"
        "https://n.example/notes,2026-11-13T10:00:00Z\n"
    )
    first, _ = read_csv(path)
    again, _ = read_csv(path)
    assert first[0].data["id"] == again[0].data["id"]
    assert first[0].data["id"].startswith("csv-")


def test_missing_columns_and_bad_mappings_are_clear(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("Headline,Link\nA,https://n.example/a\n")
    items, errors = read_csv(path)
    assert items == []
    assert "missing column(s): title (column 'title')" in str(errors[0])
    bad = tmp_path / "bad.yaml"
    bad.write_text("columns: {headline: Headline}\n")
    with pytest.raises(InputError, match="unknown signal field"):
        load_mapping(bad)
    zone = tmp_path / "zone.yaml"
    zone.write_text("timezone: Mars/Olympus\n")
    with pytest.raises(InputError, match="unknown time zone"):
        load_mapping(zone)
