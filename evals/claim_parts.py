"""The checkable details of a claim: dates, proper names, people's titles, content words.

Kept apart from :mod:`evals.claims` so that each rule is small enough to read and test.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

_MONTH_NAMES = "jan feb mar apr may jun jul aug sep oct nov dec".split()
MONTHS = {m: i for i, m in enumerate(_MONTH_NAMES, start=1)}
MONTHS |= {
    name: MONTHS[name[:3]]
    for name in "january february march april june july august september sept october "
    "november december".split()
}
_MONTH = r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"  # noqa: E501
DATE = re.compile(
    r"\b(?P<iso>(?P<iy>\d{4})-(?P<im>\d{2})-(?P<id>\d{2}))\b"
    rf"|\b(?P<md>{_MONTH})\.?\s+(?P<mdd>\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(?P<mdy>\d{{4}}))?\b"
    rf"|\b(?P<dm>\d{{1,2}})\s+(?P<dmm>{_MONTH})\s+(?P<dmy>\d{{4}})\b"
    rf"|\b(?P<my>{_MONTH})\s+(?P<myy>\d{{4}})\b"
    r"|\b(?P<q>Q[1-4])\s+(?P<qy>\d{4})\b"
)

# Chief-officer titles and the abbreviations that mean the same.
TITLE_ALIASES = {
    "ceo": "chief executive officer",
    "cfo": "chief financial officer",
    "coo": "chief operating officer",
    "cio": "chief information officer",
    "cto": "chief technology officer",
    "ciso": "chief information security officer",
    "cdo": "chief digital officer",
    "cro": "chief revenue officer",
    "cco": "chief compliance officer",
    "cmio": "chief medical information officer",
    "cao": "chief analytics officer",
}
TITLE = re.compile(
    r"\b(?:C(?:E|F|O|I|T|D|R|C|A)O|CISO|CMIO)\b"
    r"|\bChief(?:\s+[A-Z][a-z]+){1,3}\s+Officer\b"
    r"|\b(?:S?VP|Vice President),?\s+(?:of\s+)?[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?"
    r"|\bDirector(?:,|\s+of)\s+[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?"
)
TITLE_WORDS = set(
    """
vp svp evp vice president chief officer director head manager lead senior acting interim
of and the
""".split()
) | set(TITLE_ALIASES)
_NAME = re.compile(
    r"(?:Dr\.\s+)?[A-Z][\w'’&-]*[A-Za-z0-9](?:\s+(?:&\s+)?(?:of\s+)?[A-Z][\w'’&-]*[A-Za-z0-9])*"
)
# Capitalised words that start sentences or name common things, not entities to check.
COMMON = (
    set(
        """
the this that these those our we your you a an in on as with at for and but it its their
they he she his her i my since after before by from to of if when while given both also
congratulations there here what which who key next last new recent open risks risk
talking points questions account snapshot stakeholder stakeholders map gaps
opportunities opportunity objectives summary meeting subject note q1 q2 q3 q4 fy us ai
roi arr nps csat rfp rfi qbr sam hipaa p&l bi eu uk mid early late monday tuesday
wednesday thursday friday however meanwhile additionally currently today yesterday
tomorrow please best regards dear hi hello thanks thank not no yes
""".split()
    )
    | set(MONTHS)
    | TITLE_WORDS
)
STOPWORDS = COMMON | set(
    """
is are was were be been being has have had will would could should may might can about
into over than then more most some such only very just so all any each other which what
also now said says according per via do does did up out them him us one two three four
five six
""".split()
)
_HEDGE = re.compile(
    r"\b(?:consider(?:s|ing)?|weigh(?:s|ing)?|may|might|could|possible|possibly|reportedly|"
    r"rumou?r(?:s|ed)?|sources? say|people familiar|expected|expects?|likely|candidate|"
    r"potential|plans? to|planning to|propos(?:ed|es?))\b",
    re.IGNORECASE,
)
_NEGATION = re.compile(
    r"\b(?:not|no|never|none|without|neither|nor|cannot|isn't|won't|didn't|"
    r"doesn't|aren't|wasn't|hasn't|haven't)\b",
    re.IGNORECASE,
)


def dates_in(text: str) -> Iterator[re.Match[str]]:
    return DATE.finditer(text)


def date_keys(match: re.Match[str]) -> list[tuple[int, ...]]:
    """Comparable forms of a date: (y, m, d) and (m, d) when the day is known, else (y, m)."""
    g = match.groupdict()
    if g["iso"]:
        y, m, d = int(g["iy"]), int(g["im"]), int(g["id"])
        return [(y, m, d), (m, d), (y, m)]
    if g["md"]:
        m, d = MONTHS[g["md"].lower().rstrip(".")], int(g["mdd"])
        return [(int(g["mdy"]), m, d), (int(g["mdy"]), m)] if g["mdy"] else [(m, d)]
    if g["dm"]:
        y, m, d = int(g["dmy"]), MONTHS[g["dmm"].lower()], int(g["dm"])
        return [(y, m, d), (m, d), (y, m)]
    if g["my"]:
        return [(int(g["myy"]), MONTHS[g["my"].lower()])]
    # A quarter only matches a quarter: "Q4 2026" is not supported by an October date.
    return [(0, int(g["qy"]), int(g["q"][1]))]


def names_in(text: str, corpus_lower: str) -> list[str]:
    """Proper names in ``text`` that the (lower-cased) corpus does not contain.

    A run of capitalised words is matched greedily against the corpus in the longest
    pieces it contains; two unmatched-together name words in a row ("Linda Park" from
    "Linda Marsh" and "Helen Park") are a mixed-up name even when each word exists.
    """
    missing = []
    for run in _capitalised_runs(text):
        words = [w for w in run.split() if w != "&"]
        pieces = _greedy_pieces(words, corpus_lower)
        for i, piece in enumerate(pieces):
            if piece is None:
                missing.append(words[i] if len(words) == 1 else run)
                break
        else:
            if _mixed_name(words, pieces):
                missing.append(run)
    return list(dict.fromkeys(missing))


def _capitalised_runs(text: str) -> Iterator[str]:
    for match in _NAME.finditer(text):
        words = match.group(0).replace("’", "'").split()
        while words and words[0].lower().rstrip(".") in COMMON:
            words = words[1:]
        while words and words[-1].lower() in COMMON:
            words = words[:-1]
        words = [w.removesuffix("'s") for w in words]
        if not words or all(w.lower() in COMMON or w.isupper() and len(w) <= 5 for w in words):
            continue
        if len(words) == 1 and match.start() == _sentence_start(text, match.start()):
            continue  # a lone capitalised first word is usually just grammar
        yield " ".join(words)


def _sentence_start(text: str, at: int) -> int:
    before = text[:at].rstrip()
    return at if not before or before[-1] in ".!?:\n-*•[]" else -1


def _greedy_pieces(words: list[str], corpus: str) -> list[int | None]:
    """For each word, the length of the corpus phrase it starts (or None if not found)."""
    pieces: list[int | None] = [0] * len(words)
    i = 0
    while i < len(words):
        for j in range(len(words), i, -1):
            if _contains(corpus, " ".join(words[i:j]).lower()):
                pieces[i] = j - i
                i = j
                break
        else:
            pieces[i] = None
            return pieces
    return pieces


def _contains(corpus: str, phrase: str) -> bool:
    return re.search(rf"(?<![\w]){re.escape(phrase)}(?![\w])", corpus) is not None


def _mixed_name(words: list[str], pieces: list[int | None]) -> bool:
    singles = [i for i, n in enumerate(pieces) if n == 1 and words[i].lower() not in COMMON]
    return any(b == a + 1 for a, b in zip(singles, singles[1:], strict=False))


def title_pairs(text: str) -> list[tuple[str, str]]:
    """(person, title) pairs: each title with the nearest two-word name in the sentence."""
    people = list(_people(text))
    pairs = []
    for title in TITLE.finditer(text):
        if not people:
            break
        nearest = min(people, key=lambda p: _gap(p[1], title.span()))
        if _gap(nearest[1], title.span()) <= 30:
            pairs.append((nearest[0], title.group(0)))
    return pairs


def _people(text: str) -> Iterator[tuple[str, tuple[int, int]]]:
    """Two-or-more-word names with their span, a title in front stripped ("CFO Angela Brandt")."""
    for match in _NAME.finditer(text):
        words = match.group(0).split()
        start = match.start()
        while words and (words[0].lower() in TITLE_WORDS or words[0].isupper()):
            start += len(words[0]) + 1
            words = words[1:]
        if len(words) >= 2 and not any(w.lower() in TITLE_WORDS or w.isupper() for w in words):
            yield " ".join(words), (start, match.end())


def _gap(a: tuple[int, int], b: tuple[int, int]) -> int:
    return max(b[0] - a[1], a[0] - b[1], 0)


def titles_near(person: str, title: str, corpus: str) -> bool:
    """Does one line or sentence of the corpus give ``person`` (by surname) ``title``?"""
    surname = person.split()[-1].lower()
    wanted = _normal_title(title)
    for line in re.split(r"(?<=[.!?])\s+|\n", corpus):
        low = line.lower()
        if surname in low and wanted in _normal_title(low):
            return True
    return False


def _normal_title(text: str) -> str:
    text = " ".join(text.lower().replace(",", " ").split())
    for short, long in TITLE_ALIASES.items():
        text = re.sub(rf"\b{short}\b", long, text)
    return text.replace("vice president", "vp").replace(" of ", " ")


def content_words(text: str) -> set[str]:
    words = re.findall(r"[a-zA-Z][a-zA-Z'-]{3,}", text.lower())
    return {_stem(w) for w in words if w not in STOPWORDS}


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s", "ly"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def negation_scopes(text: str) -> list[set[str]]:
    """The content words each negation applies to, within its clause ("no data was lost")."""
    scopes = []
    for match in _NEGATION.finditer(text):
        clause = re.split(r"[.,;:!?\"”]", text[match.end() :], maxsplit=1)[0]
        scope = content_words(" ".join(clause.split()[:3]))
        if scope:
            scopes.append(scope)
    return scopes


def contradicts(claim: str, corpus: str) -> bool:
    """The claim negates what the source states, or states what the source negates."""
    words = content_words(claim)
    mine, theirs = negation_scopes(claim), negation_scopes(corpus)
    if any(not any(scope & other for other in theirs) for scope in mine):
        return True
    return not mine and any(scope <= words for scope in theirs)


def hedged(text: str) -> bool:
    return _HEDGE.search(text) is not None


NUMBER_WORDS = {
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "ten": "10",
    "eleven": "11",
    "twelve": "12",
    "fifteen": "15",
    "twenty": "20",
    "thirty": "30",
    "forty": "40",
    "fifty": "50",
    "half": "50%",
    "dozen": "12",
    "double": "200%",
}
_NUMBER_WORD = re.compile(rf"\b({'|'.join(NUMBER_WORDS)})\b", re.IGNORECASE)


def with_digits(text: str) -> str:
    """Spelled-out numbers as digits, so "twelve months" and "12 months" compare equal."""
    return _NUMBER_WORD.sub(lambda m: NUMBER_WORDS[m.group(1).lower()], text)


def best_sentence(text: str, corpus: str) -> str:
    """The corpus sentence that shares the most content words with ``text``."""
    words = content_words(text)
    sentences = re.split(r"(?<=[.!?;:])[\"'”’)]?\s+|\n", corpus)
    return max(sentences, key=lambda s: len(words & content_words(s)), default="")
