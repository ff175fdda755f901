from __future__ import annotations

from agent.llm import ChatMessage, ScriptedChatModel
from agent.redaction import RedactingChatModel, Redactor


def test_emails_and_phones_never_reach_the_wrapped_model() -> None:
    inner = ScriptedChatModel(['{"body": "Write to [EMAIL_1] or call [PHONE_1]."}'])
    model = RedactingChatModel(inner)
    reply = model.complete(
        [
            ChatMessage("system", "Draft for robert.ainsley@acmefinancial.example"),
            ChatMessage("user", "Robert: robert.ainsley@acmefinancial.example, +1 312 555 0100"),
        ]
    )
    sent = " ".join(m.content for m in inner.requests[0])
    assert "@" not in sent and "555" not in sent
    assert sent.count("[EMAIL_1]") == 2  # one placeholder per value, used consistently
    assert reply.text == (
        '{"body": "Write to robert.ainsley@acmefinancial.example or call +1 312 555 0100."}'
    )


def test_distinct_values_get_distinct_placeholders() -> None:
    redactor = Redactor()
    text = redactor.redact("a@x.example, b@y.example, a@x.example")
    assert text == "[EMAIL_1], [EMAIL_2], [EMAIL_1]"
    assert redactor.restore(text) == "a@x.example, b@y.example, a@x.example"
