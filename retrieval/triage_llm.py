"""Triage by a chat model: asked for the type only when configured, never trusted blindly.

``LLMClassifier`` asks for one of the known types as JSON and falls back to the rules when
the reply is unusable; ``HybridClassifier`` lets the rules decide and asks the model only
when they are unsure. The item is passed as data inside the prompt (``prompts/triage``).
"""

from __future__ import annotations

import json

from agent.llm import ChatModel
from agent.prompts import load_prompt
from retrieval.triage import TYPES, Classification, Classifier, RuleClassifier
from samdesk.errors import LLMError


class LLMClassifier:
    """Asks a chat model for the type; falls back to the rules when the reply is unusable."""

    def __init__(self, llm: ChatModel, *, fallback: Classifier | None = None):
        self.llm = llm
        self.name = f"llm:{llm.name}"
        self.fallback = fallback or RuleClassifier()
        self.prompt = load_prompt("triage")

    def classify(self, title: str, text: str, account_name: str) -> Classification:
        messages = self.prompt.render(
            {"types": TYPES, "account": account_name, "title": title, "text": text}
        )
        schema = {
            "type": "object",
            "properties": {
                "type": {"type": "string", "enum": list(TYPES)},
                "reason": {"type": "string"},
            },
            "required": ["type", "reason"],
        }
        try:
            reply = json.loads(self.llm.complete(messages, schema=schema).text, strict=False)
            kind, why = str(reply["type"]), str(reply.get("reason", ""))[:300]
        except (LLMError, ValueError, KeyError, TypeError) as exc:
            ruled = self.fallback.classify(title, text, account_name)
            return Classification(
                ruled.type, "rules", ruled.confidence, f"model unusable ({exc}); {ruled.reason}"
            )
        if kind not in TYPES:
            ruled = self.fallback.classify(title, text, account_name)
            return Classification(
                ruled.type, "rules", ruled.confidence, f"model said {kind!r}; {ruled.reason}"
            )
        return Classification(kind, "llm", 0.8, f"{self.llm.name}: {why}")


class HybridClassifier:
    """Rules decide; the model is asked only when the rules are unsure."""

    def __init__(self, llm: ChatModel, *, threshold: float = 0.5):
        self.rules = RuleClassifier()
        self.model = LLMClassifier(llm, fallback=self.rules)
        self.threshold = threshold
        self.name = f"{self.rules.name}+{self.model.name}"

    def classify(self, title: str, text: str, account_name: str) -> Classification:
        ruled = self.rules.classify(title, text, account_name)
        if ruled.confidence >= self.threshold:
            return ruled
        asked = self.model.classify(title, text, account_name)
        return Classification(
            asked.type,
            asked.source,
            asked.confidence,
            f"{asked.reason} (rules unsure: {ruled.reason})",
        )
