"""A customer-support assistant built on Claude, written as any codebase would write it."""

from __future__ import annotations

import json
import re
from typing import Any

import anthropic

MODEL = "claude-sonnet-5-5"
MAX_WORDS = 80

REFUND_POLICY = """\
Returns are accepted within 30 days of delivery, for unworn shoes in their box, with the order
number. Refunds go to the original payment method within 5 working days of the return arriving.
After 30 days there is no refund, but faulty shoes are covered by a 12-month warranty, and
unworn shoes can be exchanged for store credit up to 60 days after delivery."""

SYSTEM = f"""\
You are the customer-support assistant of Stride, an online shoe shop.

Refund policy:
{REFUND_POLICY}

Rules:
- Answer only questions about Stride orders, returns, refunds, shipping and products.
- If a question is off-topic or silly, do not answer it: say in one or two sentences what
  you can help with instead.
- Never promise anything the policy does not allow; when the answer is no, offer what the
  policy does allow.
- Be warm and polite. At most {MAX_WORDS} words."""

CLASSIFY_SYSTEM = """\
Classify the customer's message for Stride's support queue. Reply with JSON only:
{"intent": "refund" | "exchange" | "order_status" | "product_question" | "other",
 "order_id": "A" followed by digits, or null,
 "urgency": "low" | "normal" | "high"}"""

INTENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "intent": {"enum": ["refund", "exchange", "order_status", "product_question", "other"]},
        "order_id": {"type": ["string", "null"], "pattern": "^A[0-9]+$"},
        "urgency": {"enum": ["low", "normal", "high"]},
    },
    "required": ["intent", "order_id", "urgency"],
    "additionalProperties": False,
}

_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


class SupportBot:
    """Answers customers, classifies their messages; one Anthropic client per bot."""

    def __init__(self, client: anthropic.Anthropic | None = None, model: str = MODEL) -> None:
        self.client = client or anthropic.Anthropic()
        self.model = model

    def answer(self, question: str) -> str:
        reply = self.client.messages.create(
            model=self.model,
            max_tokens=400,
            system=SYSTEM,
            messages=[{"role": "user", "content": question}],
        )
        return "".join(block.text for block in reply.content if block.type == "text")

    def classify(self, message: str) -> dict[str, Any]:
        reply = self.client.messages.create(
            model=self.model,
            max_tokens=200,
            system=CLASSIFY_SYSTEM,
            messages=[{"role": "user", "content": message}],
        )
        text = "".join(block.text for block in reply.content if block.type == "text")
        fenced = _FENCE.search(text)
        return dict(json.loads(fenced.group(1) if fenced else text))

    def prompt_tokens(self, question: str) -> int:
        counted = self.client.messages.count_tokens(
            model=self.model, system=SYSTEM, messages=[{"role": "user", "content": question}]
        )
        return counted.input_tokens


async def answer_streamed(question: str, model: str = MODEL) -> str:
    """The chat widget's path: streamed, through the async client."""
    async with (
        anthropic.AsyncAnthropic() as client,
        client.messages.stream(
            model=model,
            max_tokens=400,
            system=SYSTEM,
            messages=[{"role": "user", "content": question}],
        ) as stream,
    ):
        return "".join([text async for text in stream.text_stream])
