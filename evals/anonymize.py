"""Consistent pseudonyms for exported cases: the same person or company always gets the
same stand-in, in the plan, the sources, the recipient and the SAM's text alike.

Covers what the plan names: the account (full name, short forms, id, domain), every
stakeholder, the executive sponsor, the SAM, and their email addresses. People who appear
only in news text (a CEO quoted in a signal) are not in the plan and are left as written.
"""

from __future__ import annotations

import re
from typing import Any

from retrieval.schemas import AccountPlan

PSEUDONYMS = [
    "Alex Morgan",
    "Jordan Ellis",
    "Casey Rivera",
    "Taylor Brooks",
    "Morgan Hayes",
    "Riley Chen",
    "Jamie Patel",
    "Avery Quinn",
    "Drew Santos",
    "Quinn Harper",
    "Reese Walker",
    "Skyler Grant",
    "Rowan Blake",
    "Emerson Cole",
    "Finley Shaw",
    "Harper Lane",
    "Kendall Price",
    "Logan Reed",
    "Parker Stone",
    "Sawyer Hale",
]
SUFFIXES = {"corp", "corporation", "inc", "group", "system", "systems", "media", "co", "ltd"}


class Anonymizer:
    """Builds its replacement table from plans as it meets them; call :meth:`text` after."""

    def __init__(self) -> None:
        self._people: dict[str, str] = {}
        self._table: dict[str, str] = {}
        self._companies = 0

    def learn(self, plan: AccountPlan) -> None:
        letter = chr(ord("A") + self._companies % 26)
        if f"{plan.account_id}" not in self._table:
            self._companies += 1
            company = f"Company {letter}"
            slug = f"company-{letter.lower()}"
            words = plan.name.split()
            short = " ".join(w for w in words if w.lower().rstrip(".") not in SUFFIXES)
            self._add(plan.name, company)
            self._add(short, company)
            self._add(words[0], company)
            self._add(plan.account_id, slug)
            self._add(plan.account_id.split("-")[0], slug)
            self._add(plan.domain, f"{slug}.example")
            self._add(plan.owner_email.split("@", 1)[1], "seller.example")
        people = [plan.owner_sam, plan.executive_sponsor.split(",")[0]]
        people += [s.name for s in plan.stakeholders]
        for person in people:
            self._person(person)
        for s in plan.stakeholders:
            if s.email:
                self._add(s.email, _email(self._people[s.name], plan, self._table))
        self._add(plan.owner_email, _email(self._people[plan.owner_sam], plan, self._table))

    def _person(self, name: str) -> None:
        name = name.strip()
        if not name or name in self._people:
            return
        fake = PSEUDONYMS[len(self._people) % len(PSEUDONYMS)]
        if len(self._people) >= len(PSEUDONYMS):
            fake = f"{fake} {len(self._people) // len(PSEUDONYMS) + 1}"
        self._people[name] = fake
        self._add(name, fake)
        real = name.replace("Dr. ", "").split()
        pseudo = fake.split()
        if len(real) >= 2:
            self._add(real[0], pseudo[0])
            self._add(real[-1], pseudo[-1])

    def _add(self, real: str, fake: str) -> None:
        if real and real not in self._table and len(real) > 2:
            self._table[real] = fake

    def text(self, value: str) -> str:
        """``value`` with every known name replaced, longest names first."""
        if not self._table:
            return value
        keys = sorted(self._table, key=len, reverse=True)
        pattern = re.compile(
            "|".join(rf"(?<![\w@]){re.escape(k)}(?![\w@])" for k in keys), re.IGNORECASE
        )
        return pattern.sub(lambda m: self._match(m.group(0)), value)

    def _match(self, found: str) -> str:
        if found in self._table:
            return self._table[found]
        for real, fake in self._table.items():
            if real.lower() == found.lower():
                return fake.lower().replace(" ", "-") if found.islower() else fake
        return found

    def data(self, value: Any) -> Any:
        """Every string inside nested lists and dicts, keys included, anonymised."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.data(v) for v in value]
        if isinstance(value, dict):
            return {self.text(k): self.data(v) for k, v in value.items()}
        return value


def _email(fake: str, plan: AccountPlan, table: dict[str, str]) -> str:
    local = fake.lower().replace(" ", ".")
    return f"{local}@{table.get(plan.domain, 'company.example')}"
