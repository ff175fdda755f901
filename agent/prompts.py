"""Find, hash and render the versioned prompt templates shipped in ``prompts/``."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, TemplateNotFound

from agent.llm import ChatMessage
from samdesk.errors import ConfigError

_ENV = Environment(
    loader=PackageLoader("prompts", ""),
    undefined=StrictUndefined,
    autoescape=False,  # prompts are plain text for a model, never HTML
    keep_trailing_newline=False,
)
_VERSION = re.compile(r"^v(\d+)\.j2$")
# Prefixed to each word of a value in :meth:`Prompt.instructions` (kept through slicing).
DATA_WORD = "\x01"


@dataclass(frozen=True)
class Prompt:
    kind: str
    version: str
    hash: str

    @property
    def ref(self) -> str:
        return f"{self.kind}@{self.version}"

    def render(self, context: dict[str, Any]) -> list[ChatMessage]:
        template = _ENV.get_template(f"{self.kind}/{self.version}.j2")
        ctx = template.new_context(context)
        system = "".join(template.blocks["system"](ctx)).strip()
        user = "".join(template.blocks["user"](ctx)).strip()
        return [ChatMessage("system", system), ChatMessage("user", user)]

    def instructions(self, context: dict[str, Any]) -> str:
        """samdesk's own words in this prompt, for the echo check: rendered without sources,
        every word of a value from the account or the meeting marked with :data:`DATA_WORD`,
        so that a draft repeating a meeting title or a name is not taken for echoing us."""
        marked = {**_marked(context), "sources": []}
        return "\n".join(m.content for m in Prompt.render(self, marked))


def versions(kind: str) -> list[str]:
    folder = resources.files("prompts") / kind
    if not folder.is_dir():
        return []
    found = [m.group(1) for p in folder.iterdir() if (m := _VERSION.match(p.name))]
    return [f"v{n}" for n in sorted(found, key=int)]


def load_prompt(ref: str) -> Prompt:
    """``outreach@v1``, or ``outreach`` for its newest version."""
    kind, _, version = ref.partition("@")
    available = versions(kind)
    if not available:
        raise ConfigError(f"no prompt templates for {kind!r} under prompts/{kind}/")
    version = version or available[-1]
    if version not in available:
        raise ConfigError(f"prompt {ref!r} not found; available: {', '.join(available)}")
    try:
        source = _template_source(kind, version)
    except TemplateNotFound as exc:
        raise ConfigError(f"prompt {ref!r} is unreadable") from exc
    return Prompt(kind, version, hashlib.sha256(source.encode()).hexdigest()[:16])


def _template_source(kind: str, version: str) -> str:
    """The template plus the shared macros it imports, so a macro edit changes the hash."""
    loader = _ENV.loader
    assert loader is not None
    parts = [
        loader.get_source(_ENV, name)[0]
        for name in (f"{kind}/{version}.j2", "_sources.j2", "_rules.j2")
    ]
    return "\n".join(parts)


def _marked(value: Any) -> Any:
    if isinstance(value, str):
        return re.sub(r"\w+", lambda word: DATA_WORD + word.group(0), value)
    if isinstance(value, dict):
        return {key: _marked(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_marked(item) for item in value]
    return value
