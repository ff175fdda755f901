"""What a draft must look like when it comes back from the model."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class DraftOutput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: str = Field(min_length=3, max_length=200)
    body: str = Field(min_length=20, max_length=8000)
    citations: list[str] = Field(min_length=1)


def output_schema(kind: str, source_ids: list[str]) -> dict[str, Any]:
    """JSON schema sent to the model: citations may only name sources it was given.

    Servers that constrain decoding by schema (llama.cpp, vLLM, OpenAI strict mode) then
    cannot produce an unknown citation id at all. String lengths stay out of the schema:
    llama.cpp expands them into a grammar so deep that the server crashes; the reply is
    length-checked on our side (``DraftOutput``) instead.
    """
    return {
        "type": "object",
        "properties": {
            "subject": {"type": "string"},
            "body": {"type": "string"},
            "citations": {
                "type": "array",
                "items": {"type": "string", "enum": source_ids},
                "minItems": 1,
            },
        },
        "required": ["subject", "body", "citations"],
        "additionalProperties": False,
    }
