"""Read a model's reply as a draft, or say exactly what is wrong with it.

The reason has two readers: the model, told it on the one retry (``str()``, in the turn
:func:`ask_again` adds), and the SAM, shown it on a draft that failed (``reason``). Reading
a reply needs no index, prompt or model, so it lives apart from :mod:`agent.drafting`,
which decides when to retry.
"""

from __future__ import annotations

import json

from pydantic import ValidationError

from agent.llm import ChatMessage, Completion
from agent.schemas import DraftOutput


class ReplyError(ValueError):
    """What is wrong with a reply: ``str()`` is told to the model, ``reason`` to the SAM."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


def parse_reply(completion: Completion) -> DraftOutput:
    """The draft in a reply, or :class:`ReplyError` saying exactly what is wrong with it."""
    if completion.finish_reason == "length":
        message = "the reply was cut off at the token limit"
        raise ReplyError(message, f"model reply: {message}")
    text = completion.text.strip()
    if text.startswith("```"):
        text = text.strip("`").removeprefix("json").strip()
    try:
        # strict=False: constrained decoders may emit raw newlines inside strings.
        data = json.loads(text, strict=False)
    except json.JSONDecodeError as exc:
        message = f"not JSON ({exc.msg} at char {exc.pos})"
        raise ReplyError(message, f"model reply was {message}") from exc
    try:
        return DraftOutput.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "reply"
        problem = " missing" if first["type"] == "missing" else f": {first['msg']}"
        raise ReplyError(
            f"{where}: {first['msg']}", f"model reply broke the schema: field '{where}'{problem}"
        ) from exc


CUT_OFF_RETRY = (
    "Your reply was cut off at the token limit because it was far too long. "
    "Reply again with only the JSON object, with a much shorter body."
)
INVALID_RETRY = "That reply was invalid: {error}. Reply again with only the JSON object."
# What the retry says, for the echo check: our words as much as the prompt's.
RETRY_WORDS = (CUT_OFF_RETRY, INVALID_RETRY.format(error=""))


def ask_again(
    messages: list[ChatMessage], completion: Completion, error: ReplyError
) -> list[ChatMessage]:
    """The conversation of the one retry: the bad reply and what is wrong with it.

    A reply cut off at the token limit is left out: it is the model running on, and the
    embedded model, shown it, ran on again (none of the demo's three cut-off outreach drafts
    came back usable, at 41 s a retry). Asked afresh for a shorter body, one of the three
    did, and the retries took 3, 11 and 42 s: the retry starts with the first prompt, whose
    reading the server keeps.
    """
    if completion.finish_reason == "length":
        return [*messages, ChatMessage("user", CUT_OFF_RETRY)]
    return [
        *messages,
        ChatMessage("assistant", completion.text),
        ChatMessage("user", INVALID_RETRY.format(error=error)),
    ]
