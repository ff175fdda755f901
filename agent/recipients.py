"""Who an outreach email should go to, chosen from the plan's stakeholder map."""

from __future__ import annotations

from retrieval.schemas import AccountPlan, Stakeholder

# Re-alignment news goes to whoever holds the budget; expansion news to the champion first.
ROLE_ORDER = {
    "leadership_change": ("economic_buyer", "executive_sponsor", "champion"),
    "budget_freeze": ("economic_buyer", "executive_sponsor", "champion"),
    "layoffs": ("economic_buyer", "executive_sponsor", "champion"),
    "m_and_a": ("economic_buyer", "executive_sponsor", "champion"),
    "competitor_rfp": ("economic_buyer", "champion", "executive_sponsor"),
    "support_spike": ("champion", "technical_evaluator", "economic_buyer"),
}
DEFAULT_ORDER = ("champion", "economic_buyer", "executive_sponsor", "technical_evaluator")
STRENGTH = {"strong": 0, "good": 1, "neutral": 2, "weak": 3, "none": 4}


def choose_recipient(plan: AccountPlan, signal_type: str, signal_text: str) -> Stakeholder | None:
    """The best-connected stakeholder in the role order for this kind of news.

    For expansion news a stakeholder named in the signal comes first (they are the story);
    for re-alignment news the named person is often the one leaving, so roles decide.
    """
    named = [s for s in plan.stakeholders if s.name.lower() in signal_text.lower()]
    if named and signal_type not in ROLE_ORDER:
        return named[0]
    for role in ROLE_ORDER.get(signal_type, DEFAULT_ORDER):
        holders = sorted(
            (s for s in plan.stakeholders if s.role == role),
            key=lambda s: STRENGTH[s.relationship],
        )
        if holders:
            return holders[0]
    return plan.stakeholders[0] if plan.stakeholders else None


def address(stakeholder: Stakeholder | None, plan: AccountPlan) -> str:
    if stakeholder is None:
        return ""
    return f"{stakeholder.name} <{stakeholder.email}>" if stakeholder.email else stakeholder.name
