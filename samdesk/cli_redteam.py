"""``samdesk redteam``: the red-team and grounding-checker figures the README publishes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

console = Console()
SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def redteam(
    samples: Annotated[
        Path, typer.Option(help="Benign sample accounts to hide the cases among")
    ] = SAMPLES,
    out: Annotated[Path | None, typer.Option(help="Also write the figures as JSON here")] = None,
) -> None:
    """Run every hostile signal through ingest, retrieval, drafting and the desk renderer
    with a model that obeys every injection, and score the claim checker on labelled claims."""
    from evals.grounding.quality import HOLDOUT, measure
    from evals.redteam.payloads import own_cases, public_cases
    from evals.redteam.runner import run_redteam
    from retrieval.embeddings import SentenceTransformerEmbedder
    from retrieval.plans import load_plan

    accounts = []
    for path in sorted((samples / "accounts").glob("*.md")):
        plan, _ = load_plan(path)
        if plan is not None:
            accounts.append((plan.account_id, plan.name))
    public, missing = public_cases(accounts)
    report = run_redteam(
        own_cases() + public,
        samples=samples,
        embedder=SentenceTransformerEmbedder("all-MiniLM-L6-v2"),
    )
    report.missing_corpora = missing
    figures = {
        "redteam": report.summary(),
        "claim_checker": measure(samples).summary(),
        "claim_checker_holdout": measure(samples, HOLDOUT).summary(),
    }
    table = Table("red team", "count")
    for key, value in figures["redteam"].items():
        if isinstance(value, int):
            table.add_row(key.replace("_", " "), str(value))
    console.print(table)
    for name in ("claim_checker", "claim_checker_holdout"):
        quality = figures[name]
        console.print(
            f"{name.replace('_', ' ')}: {quality['claims']} labelled claims, precision "
            f"{quality['precision_unsupported']}, recall "
            f"{quality['recall_unsupported']} (of 'unsupported')"
        )
    if out:
        out.write_text(json.dumps(figures, indent=2) + "\n")
    if figures["redteam"]["reached_outbox_unflagged"] or figures["redteam"]["rendered_live_markup"]:
        raise typer.Exit(1)
