"""The agent, written as any codebase would write it: a tool loop over the Messages API.

- ``ask`` runs the agentic loop: Claude may call ``lookup_order`` (and ``start_return``) before
  it answers; the long, stable system prompt (the shop's policy) is marked for prompt caching,
  so every call after the first reads it from the cache.
- ``quote_policy`` answers from the policy as a document with citations enabled.
- ``stream_reply`` streams the answer for the chat widget, where time to first token matters.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import anthropic

MODEL = "claude-sonnet-5-5"
MAX_TURNS = 6

POLICY = """\
Stride returns and orders policy.

Returns. Unworn shoes in their original box can be returned within 30 days of delivery for a \
full refund. Refunds go back to the original payment method within 5 working days of the \
return arriving at our warehouse. Return shipping is free for customers in the EU and the UK.

Late returns. After 30 days there is no refund. Unworn shoes can still be exchanged for store \
credit up to 60 days after delivery.

Faults. Faulty shoes are covered by a 12-month warranty from the date of delivery. A customer \
sends the order number and a photo of the fault; we replace the pair, or refund it when the \
model is sold out.

Shipping. Orders ship within 2 working days. Standard delivery takes 3 to 5 working days; \
express delivery takes 1 to 2 working days and costs 9 euros. An order that has not shipped \
can be cancelled free of charge.
"""

SYSTEM = f"""\
You are the order assistant of Stride, an online shoe shop. You can look orders up and start \
returns with your tools. Look an order up before you say anything about it; never guess its \
status. Start a return only when the policy allows it and the customer asked for it. Answer \
in at most three sentences.

{POLICY}"""

TOOLS: list[dict[str, Any]] = [
    {
        "name": "lookup_order",
        "description": "The status, delivery date and items of an order, by its number.",
        "input_schema": {
            "type": "object",
            "properties": {"order_id": {"type": "string", "pattern": "^A[0-9]{4}$"}},
            "required": ["order_id"],
        },
    },
    {
        "name": "start_return",
        "description": "Open a return for an order; the customer gets a free return label.",
        "input_schema": {
            "type": "object",
            "properties": {
                "order_id": {"type": "string", "pattern": "^A[0-9]{4}$"},
                "reason": {"enum": ["unwanted", "faulty", "wrong_size"]},
            },
            "required": ["order_id", "reason"],
        },
    },
]

#: The shop's order database, as far as this example needs one.
ORDERS: dict[str, dict[str, Any]] = {
    "A1001": {"status": "delivered", "delivered": "2026-11-20", "items": ["Trail Runner 42"]},
    "A1002": {"status": "shipped", "delivered": None, "items": ["City Loafer 39"]},
    "A1003": {"status": "delivered", "delivered": "2026-10-10", "items": ["Court Classic 44"]},
}


def run_tool(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """What a tool returns to Claude; an unknown order or tool is an error it can read."""
    order = ORDERS.get(str(arguments.get("order_id")))
    if order is None:
        return {"error": f"no order {arguments.get('order_id')!r}"}
    if name == "lookup_order":
        return {"order_id": arguments["order_id"], **order}
    if name == "start_return":
        return {"order_id": arguments["order_id"], "return_label": "sent by email"}
    return {"error": f"no tool {name!r}"}


@dataclass
class Turn:
    """The agent's answer and the tools it used on the way, in order."""

    text: str
    tools: list[str] = field(default_factory=list)
    calls: int = 0


class OrderAgent:
    def __init__(self, client: anthropic.Anthropic | None = None, model: str = MODEL) -> None:
        self.client = client or anthropic.Anthropic()
        self.model = model

    def _system(self) -> list[dict[str, Any]]:
        # The policy is long and never changes between calls: cache it (ephemeral, 5 minutes).
        return [{"type": "text", "text": SYSTEM, "cache_control": {"type": "ephemeral"}}]

    def ask(self, question: str) -> Turn:
        messages: list[dict[str, Any]] = [{"role": "user", "content": question}]
        turn = Turn(text="")
        for _ in range(MAX_TURNS):
            reply = self.client.messages.create(
                model=self.model,
                max_tokens=500,
                system=self._system(),
                tools=TOOLS,
                messages=messages,
            )
            turn.calls += 1
            messages.append(
                {"role": "assistant", "content": [b.model_dump() for b in reply.content]}
            )
            uses = [block for block in reply.content if block.type == "tool_use"]
            if reply.stop_reason != "tool_use" or not uses:
                turn.text = "".join(b.text for b in reply.content if b.type == "text")
                return turn
            results = []
            for use in uses:
                turn.tools.append(use.name)
                output = run_tool(use.name, dict(use.input))
                results.append(
                    {"type": "tool_result", "tool_use_id": use.id, "content": json.dumps(output)}
                )
            messages.append({"role": "user", "content": results})
        raise RuntimeError(f"no answer after {MAX_TURNS} turns")

    def quote_policy(self, question: str) -> anthropic.types.Message:
        """An answer grounded in the policy, with citations into it."""
        return self.client.messages.create(
            model=self.model,
            max_tokens=500,
            messages=[
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "document",
                            "source": {"type": "text", "media_type": "text/plain", "data": POLICY},
                            "title": "Stride returns and orders policy",
                            "citations": {"enabled": True},
                        },
                        {"type": "text", "text": question},
                    ],
                }
            ],
        )

    def stream_reply(self, question: str) -> Iterator[str]:
        """The answer's text as it arrives, for the chat widget."""
        with self.client.messages.stream(
            model=self.model,
            max_tokens=300,
            system=self._system(),
            messages=[{"role": "user", "content": question}],
        ) as stream:
            yield from stream.text_stream
