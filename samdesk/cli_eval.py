"""``samdesk eval``: score prompt versions on the eval cases, offline and repeatably."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from samdesk.config import LLMEndpoint, Settings, get_settings
from samdesk.errors import ConfigError

eval_app = typer.Typer(
    help="Offline evals: run cases per prompt version, compare, learn from desk edits.",
    no_args_is_help=True,
)
console = Console()
err = Console(stderr=True)

PromptOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--prompt",
        "-p",
        help="A variant: v2, outreach@v2 or outreach@v2,briefing@v1. "
        "Repeat to compare; the first is the baseline. Default: v1 and v2.",
    ),
]
JudgeModelOpt = Annotated[
    str | None, typer.Option(help="Judge model name (default: the drafting model).")
]
JudgeUrlOpt = Annotated[
    str | None, typer.Option(help="Judge OpenAI-compatible base URL (default: drafting endpoint).")
]
JudgeKeyOpt = Annotated[
    str, typer.Option(help="Environment variable that holds the judge's API key.")
]


def _settings(model: str | None, base_url: str | None) -> Settings:
    settings = get_settings()
    update: dict[str, Any] = {}
    if model:
        update["llm_model"] = model
    if base_url:
        update["llm_base_url"] = base_url
    return settings.model_copy(update=update) if update else settings


def _judge(
    settings: Settings, model: str | None, base_url: str | None, key_env: str, offline: bool
) -> Any:
    from agent.openai_chat import OpenAIChatModel
    from evals.evaluators.judge import JudgeRubric
    from evals.generate import cached_model

    drafting = settings.llm_endpoint()
    endpoint = LLMEndpoint(
        provider="custom" if base_url else drafting.provider,
        base_url=base_url or drafting.base_url,
        model=model or drafting.model,
        api_key=os.environ.get(key_env) or drafting.api_key,
    )
    # A judge answers short and deterministically, whatever the drafting settings say.
    judge_settings = settings.model_copy(update={"llm_temperature": 0.0, "llm_max_tokens": 200})
    inner = OpenAIChatModel(endpoint, judge_settings)
    return JudgeRubric(cached_model(judge_settings, offline=offline, inner=inner))


@eval_app.command("run")
def run(
    prompt: PromptOpt = None,
    dataset: Annotated[
        list[Path] | None, typer.Option(help="Dataset files or folders (default: evals/datasets).")
    ] = None,
    case: Annotated[
        list[str] | None, typer.Option(help="Only cases whose id or a tag contains this.")
    ] = None,
    model: Annotated[str | None, typer.Option(help="Model name (SAMDESK_LLM_MODEL).")] = None,
    base_url: Annotated[
        str | None, typer.Option(help="OpenAI-compatible base URL (SAMDESK_LLM_BASE_URL).")
    ] = None,
    offline: Annotated[
        bool, typer.Option(help="Replay the LLM cache only; a missing reply is an error (CI).")
    ] = False,
    cache_dir: Annotated[Path | None, typer.Option(help="LLM cache (default evals/cache).")] = None,
    out: Annotated[Path, typer.Option(help="Folder for report.json and report.html.")] = Path(
        ".data/evals"
    ),
    fail_under: Annotated[
        float | None, typer.Option(help="Exit 1 if any variant's pass rate is below this (0-1).")
    ] = None,
    gate: Annotated[
        str,
        typer.Option(
            help="What --fail-under reads: 'checks' (share of checks passed) "
            "or 'cases' (share of cases passing every check)."
        ),
    ] = "checks",
    judge: Annotated[bool, typer.Option(help="Also grade with the LLM judge.")] = False,
    judge_model: JudgeModelOpt = None,
    judge_base_url: JudgeUrlOpt = None,
    judge_api_key_env: JudgeKeyOpt = "SAMDESK_JUDGE_API_KEY",
) -> None:
    """Draft every case with each prompt variant and write a JSON and an HTML report."""
    from evals.cache import CACHE_DIR
    from evals.generate import cached_model, drafter_for, generation_params
    from evals.report import summarize, write_html, write_json
    from evals.runner import default_evaluators, parse_variant, planned, run_all
    from evals.schema import load_datasets

    settings = _settings(model, base_url)
    variants = [parse_variant(p) for p in (prompt or ["v1", "v2"])]
    cases = everything = load_datasets(dataset)
    if case:
        cases = [c for c in cases if any(w in c.id or w in c.case.tags for w in case)]
    if not cases:
        raise ConfigError("no eval case matches; check --dataset and --case")
    llm = cached_model(settings, offline=offline, cache_dir=cache_dir or CACHE_DIR)
    evaluators = default_evaluators()
    judge_rubric = None
    if judge:
        judge_rubric = _judge(settings, judge_model, judge_base_url, judge_api_key_env, offline)
        evaluators.append(judge_rubric)
    with Progress(
        TextColumn("[bold]Evaluating"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=err,
    ) as progress:
        task = progress.add_task("", total=planned(cases, variants))
        runs = run_all(
            drafter_for(llm, settings, everything),
            cases,
            variants,
            evaluators,
            advance=lambda what: progress.update(task, advance=1, description=what),
        )
    meta = {
        "model": settings.llm_endpoint().model,
        "judge": judge_rubric.model.name if judge_rubric else None,
        "params": generation_params(settings),
        "datasets": sorted({c.dataset for c in cases}),
        "cases": len(cases),
    }
    summary = summarize(runs, variants, meta)
    write_json(summary, out / "report.json")
    write_html(summary, out / "report.html")
    _print_summary(summary)
    err.print(
        f"LLM cache: {llm.stats.hits} replayed, {llm.stats.recorded} recorded. "
        f"Report: {out / 'report.html'}"
    )
    _gate(summary, fail_under, gate)


def _print_summary(summary: dict[str, Any]) -> None:
    variants = summary["variants"]
    table = Table(
        "metric",
        *(v["label"] for v in variants),
        *(f"{c['candidate']} − {c['baseline']} [95% CI]" for c in summary["comparisons"]),
    )
    table.add_row(
        "pass rate (checks)",
        *(f"{100 * v['pass_rate']:.1f}%" for v in variants),
        *("" for _ in summary["comparisons"]),
    )
    table.add_row(
        "cases passing every check",
        *(f"{100 * v['case_pass_rate']:.1f}%" for v in variants),
        *("" for _ in summary["comparisons"]),
    )
    for name in variants[0]["metrics"] if variants else []:
        cells = [
            f"{v['metrics'][name]['mean']:.3f}" if name in v["metrics"] else "–" for v in variants
        ]
        diffs = []
        for c in summary["comparisons"]:
            d = c["metrics"].get(name)
            diffs.append(
                f"{d['diff']:+.3f} [{d['ci_low']:+.3f}, {d['ci_high']:+.3f}]" if d else "–"
            )
        table.add_row(name, *cells, *diffs)
    console.print(table)
    for c in summary["comparisons"]:
        s = c["score"]
        console.print(
            f"{c['candidate']} vs {c['baseline']}: case score {s['diff']:+.3f} "
            f"[{s['ci_low']:+.3f}, {s['ci_high']:+.3f}], {c['wins']} wins / {c['ties']} ties / "
            f"{c['losses']} losses; regressions: "
            + (", ".join(r["case_id"] for r in c["regressions"]) or "none")
        )


def _gate(summary: dict[str, Any], fail_under: float | None, gate: str) -> None:
    if fail_under is None:
        return
    key = {"checks": "pass_rate", "cases": "case_pass_rate"}.get(gate)
    if key is None:
        err.print(f"[red]error:[/red] --gate must be 'checks' or 'cases', not {gate!r}")
        raise typer.Exit(2)
    low = [v for v in summary["variants"] if v[key] < fail_under]
    for v in low:
        err.print(f"[red]FAIL[/red] {v['label']}: {key} {v[key]:.3f} is under {fail_under:.3f}")
    if low:
        raise typer.Exit(1)
    console.print(f"Gate passed: every variant's {key} is at least {fail_under:.3f}.")


@eval_app.command("claims")
def claims(
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Precision and recall of the claim checker's "unsupported" on the labelled claims."""
    import yaml

    from evals.agreement import LABELS, LabelledClaim, claim_quality, fixture_chunks

    raw = yaml.safe_load((LABELS / "claims.yaml").read_text(encoding="utf-8"))
    chunks = fixture_chunks()
    figures: dict[str, dict[str, Any]] = {}
    for part in ("claims", "holdout"):
        labelled = [LabelledClaim.model_validate(c) for c in raw[part]]
        for layer, product_only in (("product", True), ("product+evals", False)):
            confusion = claim_quality(labelled, chunks, product_only=product_only)
            figures[f"{part}/{layer}"] = confusion.to_json()
    if as_json:
        console.print_json(json.dumps(figures))
        return
    table = Table("set / checker", "claims", "prec.", "recall", "acc.", "tp", "fp", "fn", "tn")
    table.columns[0].no_wrap = True
    for name, f in figures.items():
        n = f["tp"] + f["fp"] + f["fn"] + f["tn"]
        table.add_row(
            name,
            str(n),
            f"{f['precision']:.2f}",
            f"{f['recall']:.2f}",
            f"{f['accuracy']:.2f}",
            *(str(f[k]) for k in ("tp", "fp", "fn", "tn")),
        )
    console.print(table)
    for name, f in figures.items():
        if name.endswith("product+evals"):
            for mistake in f["mistakes"]:
                console.print(f"[dim]{name}:[/dim] {mistake}", highlight=False)


@eval_app.command("judge-agreement")
def judge_agreement_cmd(
    judge_model: JudgeModelOpt = None,
    judge_base_url: JudgeUrlOpt = None,
    judge_api_key_env: JudgeKeyOpt = "SAMDESK_JUDGE_API_KEY",
    offline: Annotated[bool, typer.Option(help="Replay the LLM cache only.")] = False,
) -> None:
    """Agreement of the LLM judge with the human labels in evals/labels/judge.yaml."""
    from evals.agreement import judge_agreement, load_judge_labels

    rubric = _judge(get_settings(), judge_model, judge_base_url, judge_api_key_env, offline)
    figures = judge_agreement(rubric, load_judge_labels())
    table = Table(
        "dimension",
        "drafts",
        "agreement",
        "no verdict",
        "human pass rate",
        "fail precision",
        "fail recall",
    )
    table.columns[0].no_wrap = True
    for dim, f in figures.items():
        fd = f["fail_detection"]
        table.add_row(
            dim,
            str(f["n"]),
            f"{f['agreement']:.2f}",
            str(f["no_verdict"]),
            f"{f['human_pass_rate']:.2f}",
            f"{fd['precision']:.2f}",
            f"{fd['recall']:.2f}",
        )
    console.print(f"Judge: {rubric.model.name}")
    console.print(table)


@eval_app.command("export-edits")
def export_edits_cmd(
    out: Annotated[Path, typer.Option(help="Dataset file to write.")] = Path(
        "evals/datasets/edits.yaml"
    ),
    anonymize: Annotated[
        bool, typer.Option(help="Replace people, emails and companies consistently.")
    ] = False,
    as_of: Annotated[
        str | None, typer.Option(help="The cases' as-of time (default: each draft's creation).")
    ] = None,
) -> None:
    """Turn approved-after-edit and rejected drafts from the desk into eval cases."""
    from evals.export import export_edits
    from samdesk.runtime import Runtime

    runtime = Runtime.open(get_settings())
    with runtime.sessions() as session:
        dataset = export_edits(session, anonymize=anonymize, as_of=as_of)
    from evals.schema import dump_dataset

    out.parent.mkdir(parents=True, exist_ok=True)
    dump_dataset(dataset, out)
    edited = sum(1 for c in dataset.cases if c.reference is not None)
    console.print(
        f"Wrote {len(dataset.cases)} case(s) to {out}: {edited} approved after edits, "
        f"{len(dataset.cases) - edited} rejected."
    )


@eval_app.command("freeze")
def freeze(
    datasets: Annotated[list[Path], typer.Argument(help="Dataset files to freeze in place.")],
) -> None:
    """Fill in missing retrieval snapshots and recipients using the product's retrieval."""
    from evals.freeze import freeze_file
    from retrieval.embeddings import make_embedder

    settings = get_settings()
    embedder = make_embedder(settings.embedding_model)
    for path in datasets:
        changed = freeze_file(path, embedder, k=settings.retrieval_k)
        console.print(f"{path}: froze {changed} case(s)")
