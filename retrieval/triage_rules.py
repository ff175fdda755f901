"""The rules that read a signal's type from its words, before any model is asked.

Each rule is a set of patterns that must all match in one place: in the title it counts
double (headlines state the event; bodies mention everything else). The type with the
highest total wins; a lookalike company name ("Acme Hardware Co." for Acme Financial Corp)
makes the item noise whatever else it says. Every match is kept for the stored reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

RULES_VERSION = "rules@v1"
# Ties are broken in this order: the narrower, more actionable reading first.
PRIORITY = (
    "support_spike",
    "competitor_rfp",
    "layoffs",
    "budget_freeze",
    "leadership_change",
    "m_and_a",
    "funding",
    "earnings_mention",
    "hiring_surge",
    "partnership",
    "product_launch",
    "noise",
)
MIN_EVIDENCE = 2  # a type needs this much weight, or the item is noise

_ROLE = (
    r"\b(chief [a-z]+ officer|chief executive|ceo|cfo|cio|cto|coo|ciso|cdo|cmo|cro|cmio|"
    r"president|chair(man|woman)?|executive chair|vp|vice president|svp|evp|head of|"
    r"director|general counsel|finance chief|analytics chief|digital chief|[a-z]+ chief)\b"
)
_PEOPLE = (
    r"\b(\d[\d,]*\+?|dozens of|hundreds of|thousands of)\s+(new\s+)?([a-z-]+\s+){0,4}"
    r"(jobs|roles|positions|engineers|staff|people|"
    r"workers|employees|hires|drivers|nurses|lineworkers|openings|analysts|associates|"
    r"technicians|specialists|developers|scientists)\b"
)


@dataclass(frozen=True)
class Rule:
    type: str
    weight: int
    patterns: tuple[re.Pattern[str], ...]
    label: str


def _rule(type_: str, weight: int, label: str, *patterns: str) -> Rule:
    return Rule(type_, weight, tuple(re.compile(p, re.IGNORECASE) for p in patterns), label)


RULES: tuple[Rule, ...] = (
    # leadership change: an appointment or departure verb next to a senior role
    _rule(
        "leadership_change",
        3,
        "appointment of a senior role",
        r"\b(appoint(s|ed|ment)?|names?|named|hires?|hired|taps?|tapped|promot(es|ed|ion)|"
        r"elevat(es|ed)|succeed(s|ed)?|successor|joins? as|fills?|designate|to become|becomes|"
        r"confirm(s|ed)|acting|interim)\b",
        _ROLE,
    ),
    _rule(
        "leadership_change",
        3,
        "departure from a senior role",
        r"\b(steps? down|stepping down|resign(s|ed|ation)?|retir(e|es|ed|ing|ement)|"
        r"depart(s|ed|ure|ing)?|leaves|leaving|exits?|exited|ousted|to leave|has left|left)\b",
        _ROLE,
    ),
    _rule("leadership_change", 2, "role change", r"\b(adds?|expand(s|ed)?) .{0,40}\brole\b", _ROLE),
    # funding
    _rule(
        "funding",
        3,
        "capital raised",
        r"\b(raises?|raised|secures?|secured|closes?|closed|prices?|priced|sold|sells|receives?|"
        r"wins?|awarded)\b.{0,60}(\$|eur|usd|£|€)\s?\d",
    ),
    _rule(
        "funding",
        3,
        "financing instrument",
        r"\b(series [a-f]|funding round|growth (investment|round|equity)|venture capital|"
        r"majority stake|minority stake|bonds?|senior notes|notes offering|credit (facility|line)|"
        r"revolving|term loan|refinanc\w+|loan|equity offering|stock offering|ipo|grant|"
        r"philanthropic gift|tax incentives?|rate case)\b",
    ),
    # hiring surge: a hiring verb with a head count, or job postings
    _rule(
        "hiring_surge",
        3,
        "hiring with a head count",
        r"\b(hiring(?!\s+freeze)|hire|recruit(ing|s)?|adds?|adding|posts?|posted|opens?|opened|"
        r"expand(s|ing)?|building)\b",
        _PEOPLE,
    ),
    _rule(
        "hiring_surge",
        3,
        "job postings",
        r"\b(job postings?|open roles|job openings|careers site)\b",
    ),
    _rule(
        "hiring_surge",
        2,
        "hiring for technical roles",
        r"\b(hiring(?!\s+freeze)|recruiting)\b",
        r"\b(engineers|developers|analysts|scientists|roles|staff)\b",
    ),
    _rule(
        "hiring_surge",
        2,
        "team growth",
        r"\b(double|triple|grow|expand)s?\b.{0,30}\bteam\b",
    ),
    # earnings mention: results, calls, investor events
    _rule(
        "earnings_mention",
        4,
        "earnings call or results",
        r"\b(earnings|q[1-4] (call|results|earnings|revenue|financials)|investor day|"
        r"(first|second|third|fourth)[- ]quarter (results|earnings|loss|profit|revenue)|"
        r"fy\s?\d{2,4} results|financial results)\b",
    ),
    _rule(
        "earnings_mention",
        2,
        "said to investors",
        r"\b(on the call|told (analysts|investors|bondholders)|investor (call|conference|letter)|"
        r"portfolio review|annual report|shareholder letter|guidance|operating margin|q[1-4])\b",
    ),
    # product launch
    _rule(
        "product_launch",
        3,
        "launch verb",
        r"\b(launch(es|ed|ing)?|unveil(s|ed)?|rolls? out|rolled out|introduc(es|ed|ing)|"
        r"debut(s|ed)?|relaunch(es|ed)?|goes live|went live)\b",
    ),
    _rule(
        "product_launch",
        1,
        "new offering",
        r"\b(new (app|platform|service|product|portal|feature|line|program)|began .{0,30}service|"
        r"redesign)\b",
    ),
    # M&A
    _rule(
        "m_and_a",
        3,
        "deal verb",
        r"\b(acquir(e|es|ed|ing)|acquisition|to buy|buys|bought|merger|merge|merging|takeover|"
        r"divest\w*|letter of intent|spin-?off|agreed to sell|agrees to sell|sale of|"
        r"to sell its)\b",
    ),
    # layoffs
    _rule(
        "layoffs",
        4,
        "job cuts",
        r"\b(lay(s|ing)? off|laid off|layoffs?|job cuts?|redundanc(y|ies)|furlough\w*|buyouts?|"
        r"workforce reduction|reduc(es|ing|e) (its )?workforce|downsiz\w+)\b",
    ),
    _rule(
        "layoffs",
        3,
        "cuts with a head count",
        r"\b(cuts?|cutting|eliminat\w+|closing)\b",
        _PEOPLE,
    ),
    _rule("layoffs", 2, "closures", r"\b(clos(e|es|ing) \d+ (stores|plants|sites|offices))\b"),
    # budget freeze
    _rule(
        "budget_freeze",
        4,
        "spending frozen or paused",
        r"\b(spending freeze|freez(e|es|ing)|froze|frozen|on hold|paus(e|es|ed|ing)|halt(s|ed)?|"
        r"suspend(s|ed)|defer(s|red)?|postpon(e|es|ed)|cost controls?|budget cuts?)\b",
    ),
    _rule("budget_freeze", 1, "cost cutting", r"\b(cost[- ]cutting|conserve cash|save cash)\b"),
    # competitor RFP
    _rule(
        "competitor_rfp",
        4,
        "tender or vendor evaluation",
        r"\b(rfp|rfi|rfq|request for (proposals?|information|quotes?)|tender|bids?|bidders?|"
        r"shortlist\w*|bake-?off|vendor (selection|evaluation|review)|evaluat\w+ (vendors|"
        r"alternatives|a rival|rival)|rival \w+ vendor|invited \w+ vendors|"
        r"alternative \w+ (analytics )?platform)\b",
    ),
    _rule(
        "competitor_rfp",
        2,
        "pilot of another tool",
        r"\bpilot(s|ing)?\b.{0,40}\b(dashboards|analytics|platform)\b",
    ),
    # support spike or NPS drop
    _rule(
        "support_spike",
        4,
        "tickets, incidents or satisfaction",
        r"\b(tickets?|sev-?\d|severity \d|escalat\w+|csat|nps|support (cases?|desk|requests?))\b",
    ),
    _rule("support_spike", 1, "failure words", r"\b(outage|downtime|data gaps?|unavailable)\b"),
    # partnership
    _rule(
        "partnership",
        3,
        "partnership",
        r"\b(partner(s|ship|ed|ing)?|alliance|teams? up|join(s|ed)? forces|collaborat\w+|"
        r"joint venture|sign(s|ed)? .{0,40}agreement|joins? .{0,40}(exchange|consortium|network|"
        r"marketplace|program))\b",
    ),
    # noise: corporate social responsibility, awards, markets chatter, events
    _rule(
        "noise",
        4,
        "community, awards or events",
        r"\b(sponsor\w*|charity|charitable|donat\w+|volunteer\w*|food bank|toy drive|blood drive|"
        r"fundraiser|honou?red|employer of the year|top employers?|parade|festival|concert|"
        r"marathon|open day|open house|choir|birthday|sustainability report|esg report|"
        r"window displays?|boat show|flu shot|cafeteria|keynote|"
        r"to speak at|mutual aid|rescue\w*|industry (board|association)|naming[- ]rights|"
        r"mov(e|es|ing) (its )?(headquarters|newsroom|offices?))\b",
    ),
    _rule(
        "noise",
        2,
        "share price chatter",
        r"\b(shares? (rose|fell|rise|fall|jump\w*|slip\w*)|stock (was )?added|dividend \w+ index|"
        r"analyst note)\b",
    ),
    _rule(
        "noise",
        1,
        "awards or media mentions",
        r"\b(awards?|wins|won|prize|ranked|podcast|columnist|book|tops (the )?charts)\b",
    ),
)

# Words that turn a shared first name into another company ("Kessler Brewing Co.").
_ENTITY_WORDS = re.compile(
    r"^(llc|ltd|inc|co|plc|gmbh|brewing|bakery|seafood|grill|cinemas?|hotel|marina|law|"
    r"lighting|hardware|bars?|drinks?|partners|services|& associates|restaurant|cafe)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Match:
    type: str
    weight: int
    label: str
    where: str  # "title" or "text"
    snippet: str


def evidence(title: str, text: str) -> list[Match]:
    """Every rule that matches, with the words that made it match."""
    found: list[Match] = []
    for rule in RULES:
        for where, body, factor in (("title", title, 2), ("text", f"{title}\n{text}", 1)):
            hits = [p.search(body) for p in rule.patterns]
            if all(hits):
                snippet = " + ".join(h.group(0) for h in hits if h is not None)
                found.append(Match(rule.type, rule.weight * factor, rule.label, where, snippet))
                break
    return found


_DISCLAIMER = re.compile(
    r"[^.]*\b(unrelated|not affiliated|no connection|not related|no relation|not connected)\b"
    r"[^.]*\.?",
    re.IGNORECASE,
)


def lookalike(name: str, title: str, text: str) -> str | None:
    """A different company sharing the account's first word, if that is all the item names.

    News about a namesake often says "not affiliated with <account>"; that sentence is
    dropped first, because it names the account only to say the story is not about it.
    """
    body = _DISCLAIMER.sub(" ", f"{title}\n{text}")
    if name.lower() in body.lower():
        return None
    short = name.split()[0]
    account_words = {w.lower() for w in name.split()[1:]}
    seen: str | None = None
    for hit in re.finditer(rf"\b{re.escape(short)}\b\s+", body):
        rest = body[hit.end() :]
        words = rest.split()
        # skip words the account's own name shares ("Brightline Energy Bars": skip "Energy")
        while words and words[0].lower().strip(".,'") in account_words:
            words = words[1:]
        tail = " ".join(words[:2])
        if _ENTITY_WORDS.match(tail):
            seen = f"{short} {tail.split()[0]}".strip(".,")
        else:
            return None  # at least one mention reads as the account itself
    return seen
