"""Decide what each signal is, how much it matters to its account, and what to do about it.

Rules first (``retrieval.triage_rules``), a model only when asked (``retrieval.triage_llm``);
every decision keeps a reason a SAM can read. Score = relevance to the account plan,
recency and the account's strategic score. Near-duplicate reports of one event share a
group, and only the first one may trigger a draft.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol, get_args

from retrieval.schemas import AccountPlan, SignalType
from retrieval.triage_rules import MIN_EVIDENCE, PRIORITY, RULES_VERSION, evidence, lookalike

Action = Literal["expansion_outreach", "executive_realignment", "risk_alert", "no_action"]
TYPES: tuple[str, ...] = get_args(SignalType)
ACTIONS: dict[str, Action] = {
    "funding": "expansion_outreach",
    "hiring_surge": "expansion_outreach",
    "earnings_mention": "expansion_outreach",
    "product_launch": "expansion_outreach",
    "partnership": "expansion_outreach",
    "leadership_change": "executive_realignment",
    "m_and_a": "executive_realignment",
    "layoffs": "risk_alert",
    "budget_freeze": "risk_alert",
    "competitor_rfp": "risk_alert",
    "support_spike": "risk_alert",
    "noise": "no_action",
}
_WORD = re.compile(r"[a-z0-9$€£][a-z0-9.$€£-]*[a-z0-9]|[a-z0-9]", re.IGNORECASE)
_STOP = frozenset(
    "a an the and or of to in on for with by at from as is are was were be been its it this "
    "that their his her they he she will would has have had after before into over about "
    "than more most new said says company group inc corp per all also up out who which".split()
)


@dataclass(frozen=True)
class Classification:
    type: str
    source: Literal["rules", "llm", "declared"]
    confidence: float
    reason: str


class Classifier(Protocol):
    name: str

    def classify(self, title: str, text: str, account_name: str) -> Classification: ...


class RuleClassifier:
    """Keyword rules with weights; confidence is the winner's share of all evidence."""

    name = RULES_VERSION

    def classify(self, title: str, text: str, account_name: str) -> Classification:
        other = lookalike(account_name, title, text)
        if other:
            return Classification(
                "noise", "rules", 1.0, f"names {other!r}, a different company from {account_name}"
            )
        totals: dict[str, int] = {}
        why: dict[str, list[str]] = {}
        for match in evidence(title, text):
            totals[match.type] = totals.get(match.type, 0) + match.weight
            why.setdefault(match.type, []).append(
                f"{match.label} ({match.where}: {match.snippet!r})"
            )
        if not totals or max(totals.values()) < MIN_EVIDENCE:
            return Classification("noise", "rules", 0.3, "no rule for an account event matched")
        best = max(totals, key=lambda t: (totals[t], -PRIORITY.index(t)))
        share = totals[best] / sum(totals.values())
        runner_up = sorted(((v, t) for t, v in totals.items() if t != best), reverse=True)[:1]
        also = f"; next {runner_up[0][1]} {runner_up[0][0]}" if runner_up else ""
        reason = f"{best} {totals[best]}: {'; '.join(why[best])}{also}"
        return Classification(best, "rules", round(share, 2), reason)


@dataclass(frozen=True)
class Policy:
    """Weights and limits of the score; the README documents the defaults."""

    relevance_weight: float = 0.5
    recency_weight: float = 0.3
    strategic_weight: float = 0.2
    half_life_days: float = 14.0
    max_age_days: float = 60.0
    min_score: float = 0.35
    duplicate_similarity: float = 0.38
    duplicate_window_days: float = 5.0


@dataclass(frozen=True)
class SignalIn:
    """What triage needs of a signal; ``declared_type`` is None when the source gave none."""

    id: str
    account_id: str
    title: str
    text: str
    published_at: datetime
    declared_type: str | None = None


@dataclass
class Decision:
    signal_id: str
    account_id: str
    type: str
    type_source: str
    predicted_type: str
    action: Action
    score: float
    relevance: float
    recency: float
    strategic: float
    group_id: str
    reason: str
    classifier: str


@dataclass
class Seen:
    """A signal already triaged, kept to find later reports of the same event."""

    signal_id: str
    account_id: str
    type: str
    published_at: datetime
    group_id: str
    words: frozenset[str] = field(default_factory=frozenset)


def words(text: str, drop: Iterable[str] = ()) -> frozenset[str]:
    """Significant lower-case tokens, lightly stemmed, minus stop words and ``drop``."""
    dropped = {w.lower() for w in drop}
    out = set()
    for raw in _WORD.findall(text.lower()):
        token = raw.strip(".-")
        if token in _STOP or token in dropped or len(token) < 3 and not token.isdigit():
            continue
        for suffix in ("ing", "ed", "es", "s"):
            if len(token) > 5 and token.endswith(suffix):
                token = token[: -len(suffix)]
                break
        if len(token) > 4 and token.endswith("e"):
            token = token[:-1]  # "retire" and "retiring" meet at "retir"
        out.add(token)
    return frozenset(out)


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """Overlap coefficient: shared words over the shorter report's words."""
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


def relevance(plan: AccountPlan | None, title: str, text: str) -> tuple[float, list[str]]:
    """How much the item touches the plan: named stakeholders, opportunities, plan themes."""
    if plan is None:
        return 0.0, ["no plan to compare with"]
    body = f"{title}\n{text}"
    lowered = body.lower()
    score, why = 0.0, []
    key_roles = {"economic_buyer", "champion", "executive_sponsor"}
    named = [s for s in plan.stakeholders if s.name.lower() in lowered]
    if named:
        best = max(0.45 if s.role in key_roles else 0.3 for s in named)
        score += best
        why.append("names " + ", ".join(f"{s.name} ({s.role.replace('_', ' ')})" for s in named))
    body_words = words(body, plan.name.split())
    for opp in plan.opportunities:
        hits = words(f"{opp.name} {opp.module or ''}") & body_words
        if len(hits) >= 2:
            score += 0.3
            why.append(f"touches opportunity {opp.name!r} ({', '.join(sorted(hits))})")
            break
    themes = words(
        " ".join(plan.sections.get(k, "") for k in ("Objectives", "Risks", "Key initiatives")),
        plan.name.split(),
    )
    shared = sorted(themes & body_words)
    if shared:
        score += min(0.25, 0.05 * len(shared))
        why.append(f"plan themes: {', '.join(shared[:6])}")
    return min(score, 1.0), why or ["nothing in the plan is mentioned"]


def recency(published_at: datetime, as_of: datetime, half_life_days: float) -> float:
    age = (as_of - published_at).total_seconds() / 86400
    return 1.0 if age <= 0 else math.pow(0.5, age / half_life_days)


def decide(
    item: SignalIn,
    *,
    plan: AccountPlan | None,
    strategic_score: float,
    account_name: str,
    classifier: Classifier,
    history: list[Seen],
    as_of: datetime,
    policy: Policy | None = None,
) -> tuple[Decision, Seen]:
    """One signal's decision; ``history`` is searched for an earlier report of the same event."""
    policy = policy or Policy()
    predicted = classifier.classify(item.title, item.text, account_name)
    kind, source = predicted.type, predicted.source
    notes = [f"type {predicted.type} by {predicted.source}: {predicted.reason}"]
    if item.declared_type is not None:
        kind, source = item.declared_type, "declared"
        if item.declared_type != predicted.type:
            notes.insert(0, f"source declared {item.declared_type}")
    rel, rel_why = relevance(plan, item.title, item.text)
    rec = recency(item.published_at, as_of, policy.half_life_days)
    strategic = max(0.0, min(strategic_score / 100, 1.0))
    score = round(
        policy.relevance_weight * rel
        + policy.recency_weight * rec
        + policy.strategic_weight * strategic,
        3,
    )
    notes.append(
        f"score {score:.2f} = relevance {rel:.2f} ({'; '.join(rel_why)}), "
        f"recency {rec:.2f}, strategic {strategic:.2f}"
    )
    seen = Seen(
        item.id,
        item.account_id,
        kind,
        item.published_at,
        item.id,
        words(f"{item.title} {item.text}", account_name.split()),
    )
    twin = same_event(seen, history, policy)
    action: Action = ACTIONS.get(kind, "no_action")
    age_days = (as_of - item.published_at).total_seconds() / 86400
    if twin is not None:
        seen.group_id = twin[0].group_id
        action = "no_action"
        notes.insert(0, f"same event as {twin[0].signal_id} (similarity {twin[1]:.2f})")
    elif action != "no_action" and age_days > policy.max_age_days:
        action = "no_action"
        notes.insert(0, f"published {age_days:.0f} days ago, older than {policy.max_age_days:.0f}")
    elif action != "no_action" and score < policy.min_score:
        action = "no_action"
        notes.insert(0, f"score {score:.2f} below {policy.min_score}")
    elif action == "no_action":
        notes.insert(0, "noise: nothing to act on")
    decision = Decision(
        item.id,
        item.account_id,
        kind,
        source,
        predicted.type,
        action,
        score,
        round(rel, 3),
        round(rec, 3),
        round(strategic, 3),
        seen.group_id,
        " | ".join(notes),
        classifier.name,
    )
    return decision, seen


def same_event(seen: Seen, history: list[Seen], policy: Policy) -> tuple[Seen, float] | None:
    best: tuple[Seen, float] | None = None
    for other in history:
        if other.signal_id == seen.signal_id or other.account_id != seen.account_id:
            continue
        if other.type != seen.type or seen.type == "noise":
            continue  # noise is never "the same event": it triggers nothing either way
        gap = abs((other.published_at - seen.published_at).total_seconds()) / 86400
        if gap > policy.duplicate_window_days:
            continue
        sim = similarity(seen.words, other.words)
        if sim >= policy.duplicate_similarity and (best is None or sim > best[1]):
            best = (other, sim)
    return best


def as_json(decision: Decision) -> dict[str, Any]:
    return dict(decision.__dict__)
