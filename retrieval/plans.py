"""Read account plans: Markdown with YAML front matter.

Problems are reported per field with the line they sit on, so a SAM can fix a plan in
their editor without guessing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from langchain_text_splitters import MarkdownHeaderTextSplitter
from pydantic import ValidationError

from retrieval.chunks import GENERATED_SECTIONS, slug
from retrieval.schemas import AccountPlan
from retrieval.text_input import (
    MAX_DEPTH,
    bracket_depth,
    decode_utf8,
    nul_field,
    read_capped,
    sniff,
)
from samdesk.errors import InputError

MAX_PLAN_BYTES = 1_000_000  # Settings.max_plan_bytes
_SPLITTER = MarkdownHeaderTextSplitter(headers_to_split_on=[("##", "section")])


def load_plan(
    path: Path, *, max_bytes: int = MAX_PLAN_BYTES
) -> tuple[AccountPlan | None, list[InputError]]:
    """Parse and validate one plan file; on any problem return ``None`` and every problem.

    A file over ``max_bytes`` is refused after reading ``max_bytes + 1`` bytes, never more.
    """
    raw = read_capped(path, max_bytes, "SAMDESK_MAX_PLAN_BYTES")
    if isinstance(raw, str):
        return None, [InputError(path, None, None, raw)]
    problem = sniff(raw)
    if problem:
        return None, [InputError(path, None, None, problem)]
    text = decode_utf8(raw)
    if isinstance(text, tuple):
        return None, [InputError(path, text[0], None, text[1])]
    return parse_plan(text, path)


def parse_plan(text: str, path: Path | str) -> tuple[AccountPlan | None, list[InputError]]:
    """Split front matter from body, then validate both against :class:`AccountPlan`."""
    lines = text.lstrip("\ufeff").splitlines()
    if not lines or lines[0].strip() != "---":
        return None, [InputError(path, 1, None, "a plan must start with a '---' front matter line")]
    try:
        end = next(i for i, line in enumerate(lines[1:], start=1) if line.strip() == "---")
    except StopIteration:
        return None, [InputError(path, 1, None, "front matter is not closed by a '---' line")]
    front_text = "\n".join(lines[1:end])
    if bracket_depth(front_text) > MAX_DEPTH:
        problem = f"front matter is nested more than {MAX_DEPTH} levels deep"
        return None, [InputError(path, 2, None, problem)]
    try:
        alias = _first_alias(front_text)
        if alias is not None:
            # Aliases let a few lines expand into billions of values ("billion laughs").
            problem = "YAML aliases (*name) are not allowed in a plan; write the value out"
            return None, [InputError(path, alias + 2, None, problem)]
        front = yaml.safe_load(front_text)
        root = yaml.compose(front_text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else None
        return None, [InputError(path, line, None, f"front matter is not valid YAML: {exc}")]
    except RecursionError:
        return None, [InputError(path, 2, None, "front matter is nested too deeply")]
    if not isinstance(front, dict):
        return None, [InputError(path, 2, None, "front matter must be a mapping of fields")]
    field = nul_field(front)
    if field:
        loc = tuple(int(part) if part.isdigit() else part for part in field.split("."))
        line = _line_of(root, loc)
        return None, [InputError(path, line, field, "holds a NUL character; remove it")]
    if "sections" in front:
        return None, [InputError(path, 2, "sections", "reserved: write sections as ## headings")]

    front["sections"], problems = _sections(lines, end + 1, path)
    if problems:
        return None, problems
    try:
        return AccountPlan.model_validate(front), []
    except ValidationError as exc:
        return None, [_to_input_error(path, root, err) for err in exc.errors()]


def _sections(
    lines: list[str], start: int, path: Path | str
) -> tuple[dict[str, str], list[InputError]]:
    """``##`` sections of the body (``lines[start:]``); each must get its own chunk id."""
    sections: dict[str, str] = {}
    problems: list[InputError] = []
    taken = {slug(name): f"the generated {name!r} block" for name in GENERATED_SECTIONS}
    cursor = start
    for doc in _SPLITTER.split_text("\n".join(lines[start:])):
        heading = doc.metadata.get("section")
        if heading and doc.page_content.strip():
            heading = heading.strip()
            line = next(
                (
                    i
                    for i in range(cursor, len(lines))
                    if lines[i].strip().startswith("## ")
                    and lines[i].strip()[3:].strip() == heading
                ),
                None,
            )
            cursor = line + 1 if line is not None else cursor
            key = slug(heading)
            if key in taken:
                problems.append(
                    InputError(
                        path,
                        line + 1 if line is not None else None,
                        f"sections.{heading}",
                        f"heading clashes with {taken[key]} (same chunk id); rename it",
                    )
                )
                continue
            taken[key] = f"the heading {heading!r}"
            sections[heading] = doc.page_content.strip()
    return sections, problems


def _first_alias(front_text: str) -> int | None:
    """The 0-based line of the first YAML alias in ``front_text``, or ``None``."""
    for event in yaml.parse(front_text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.AliasEvent):
            return int(event.start_mark.line) if event.start_mark else 0
    return None


def _to_input_error(path: Path | str, root: Any, err: Any) -> InputError:
    loc = tuple(err["loc"])
    field = ".".join(str(part) for part in loc) or None
    line = _line_of(root, loc) if loc and loc[0] != "sections" else None
    return InputError(path, line, field, err["msg"])


def _line_of(node: Any, loc: tuple[Any, ...]) -> int | None:
    """Line (1-based, in the whole file) of the YAML node at ``loc``, or its nearest parent."""
    if node is None:
        return None
    for key in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == str(key)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int):
            child = node.value[key] if key < len(node.value) else None
        if child is None:
            break
        node = child
    return int(node.start_mark.line) + 2  # +1 for 1-based, +1 for the opening '---'
