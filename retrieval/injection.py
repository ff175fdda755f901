"""Spot signals that carry instructions for a model instead of news for a SAM.

Signals are untrusted internet text. A news item that tells "the assistant" to ignore its
rules, to send something somewhere, to reveal secrets, or that hides text or markup, is
marked at ingest; the mark travels with the chunk into prompts, drafts and the desk. The
same detector runs on drafts, so an obeyed injection is caught on the way out too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

_I = re.IGNORECASE | re.DOTALL
_AI = r"(ai|a\.i\.|automated|llm|language[- ]model|sales ai|chat ?bot|virtual|gpt)"
PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "override",
        re.compile(
            r"\b(ignore|disregard|forget|override|bypass)\b[^.]{0,60}?\b(instruction|prompt|rule|"
            r"guideline|direction|context|message)s?\b|\bregardless of (any |all )?(previous|prior|"
            r"earlier|above)\b|\bno matter what\b|\b(earlier|previous|prior|above|old|original) "
            r"(directions|instructions|rules|guidelines|prompts?)\b[^.]{0,30}\b(outdated|void|"
            r"cancel+ed|obsolete|superseded|no longer apply)",
            _I,
        ),
    ),
    (
        "role_hijack",
        re.compile(
            r"\byou are now\b|\bact as (an?|the)\b|\bnew (important )?instructions?\b|"
            r"\bsystem prompt\b|\bdeveloper mode\b|\bjailbreak|\bdo anything now\b|\bas an ai\b|"
            r"\[/?(system|inst)\]|<\|?(system|im_start|endoftext)\|?>|\b(to|for) you,? the (ai|"
            r"assistant|model|language model|agent)\b|</?information>|\bthe task (that )?i gave "
            r"you\b|#{2,}\s*(system|assistant|instruction)|\b(for testing purposes|test pipeline)\b",
            _I,
        ),
    ),
    (
        "addressed_to_ai",
        re.compile(
            rf"\b{_AI}[\s-]+(assistant|system|summari[sz]er|tool|agent|model|writer)s?\b|"
            rf"\b(to|for) (any |all |every )?{_AI}\b|\bsummari[sz](ers|ing tools)\b|"
            r"\b(ki-assistent(en)?|asistentes? de ia|assistants? (ia|d'ia)|asistente|assistenten)\b",
            _I,
        ),
    ),
    (
        "directive",
        re.compile(
            r"\b(assistant|ai model|language model|llm|chatbot|ai agent)\b[^.]{0,80}?\b(must|should|"
            r"shall|will|needs? to|include|write|reply|respond|output|say|add|insert)\b|"
            r"\b(include|insert|add|append|output|print|write|reply with|respond with|say)\b[^.]{0,80}?"
            r"\b(in|to|into|at the end of) (your|the|this|any) (response|reply|answer|email|draft|"
            r"output|summary|message)s?\b|\byour (response|reply|answer|output)\b|"
            r"\brepeat the (word|phrase|string|text)\b|"
            r"\b(vendors?|suppliers?|summaries|drafts?|e-?mails?|outreach|messages?)\b[^.]{0,40}?"
            r"\b(must|should|shall|are required to|need to)\b[^.]{0,40}?\b(state|mention|include|ask|"
            r"instruct|direct|tell|say|send|lead|add|quote)\b|\bin (the|your|any|every) [\w -]{0,30}"
            r"(e-?mail|message|reply|draft|outreach|summary|briefing)s?,? (mention|say|state|include|"
            r"add|tell|write)\b",
            _I,
        ),
    ),
    (
        "exfiltration",
        re.compile(
            r"\b(send|sent|forward(ed|ing)?|e-?mail(ed)?|cc|bcc|post(ed)?|upload(ed)?|transmit(ted)?|"
            r"leak(ed)?|shared?)\b[^.]{0,60}?"
            r"(\b[\w.+-]+@[\w-]+\.[\w.-]+|https?://)",
            _I,
        ),
    ),
    (
        "secrets",
        re.compile(
            r"\b(api[_ -]?keys?|passwords?|passwd|credentials?|secret keys?|access tokens?|"
            r"private keys?|session cookies?|document\.cookie|social security|credit card)\b",
            _I,
        ),
    ),
    (
        "hidden_text",
        re.compile(
            r"[\u200b-\u200f\u2060-\u2064\ufeff\U000e0000-\U000e007f]|<!--|display\s*:\s*none|"
            r"visibility\s*:\s*hidden|font-size\s*:\s*[01]px|color\s*:\s*(white|#fff(fff)?)\b",
            _I,
        ),
    ),
    (
        "markup",
        re.compile(
            r"<\s*/?\s*(script|img|svg|iframe|object|embed|style|form|a|html|body|meta|link|span|div)"
            r"\b|\bon[a-z]+\s*=|javascript\s*:|vbscript\s*:|data:text/html|!\[[^\]]*\]\(|"
            r"\b(alert|prompt|confirm|eval|fetch)\s*\(|\b(document|window)\.\w+|"
            r"&(lt|gt|quot|#\d{2,4}|#x[0-9a-f]{2,4});",
            _I,
        ),
    ),
    (
        "payment",
        re.compile(
            r"\b(iban|swift|bic code|routing (number|no\.?|#|\d)|sort code|wire\b[^.]{0,40}\b(transfer|payment|"
            r"funds|money|deposit|invoice)|new bank (details|account)|bank (details|account)|"
            r"remit(tance)?|payment details|change of bank)\b",
            _I,
        ),
    ),
    (
        "foreign_instruction",
        re.compile(
            r"\b(ignorez|ignoriere[n]?|ignora[r]?|oubliez|olvida|vergiss|instrucciones|anweisungen|"
            r"consignes|envoyez|envía|reenvía|senden sie|antworte[n]?|répondez|responde[r]?|incluye|"
            r"incluez|indiquez|ajoutez|schreibe[n]?|escribe|écrivez)\b",
            _I,
        ),
    ),
)
URL = re.compile(r"https?://([^\s/\"'<>)\]]+)", re.IGNORECASE)


@dataclass(frozen=True)
class InjectionMark:
    reason: str
    excerpt: str


def detect_injection(text: str, *, allowed_domains: tuple[str, ...] = ()) -> list[InjectionMark]:
    """Every reason to distrust ``text``; empty when it reads like plain news."""
    marks = []
    for reason, pattern in PATTERNS:
        match = pattern.search(text)
        if match:
            marks.append(InjectionMark(reason, _excerpt(text, match.start(), match.end())))
    for match in URL.finditer(text):
        host = match.group(1).lower().split(":")[0]
        if not any(host == d or host.endswith("." + d) for d in allowed_domains):
            marks.append(InjectionMark("foreign_link", match.group(0)[:120]))
            break
    return marks


def domain_of(url: str | None) -> str:
    host = (urlsplit(url).hostname or "") if url else ""
    return host.removeprefix("www.")


def _excerpt(text: str, start: int, end: int, pad: int = 30) -> str:
    snippet = text[max(start - pad, 0) : min(end + pad, len(text))]
    return " ".join(snippet.split())[:160]
