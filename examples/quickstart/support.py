"""A tiny support assistant, written as any codebase writes it: the SDK, a prompt, a client."""

from __future__ import annotations

import anthropic

MODEL = "claude-sonnet-5-5"
SYSTEM = (
    "You are the support assistant of Stride, an online shoe shop. Returns are accepted "
    "within 30 days of delivery, unworn, with the receipt. Answer in at most three sentences."
)


def answer(question: str, client: anthropic.Anthropic | None = None) -> str:
    client = client or anthropic.Anthropic()
    reply = client.messages.create(
        model=MODEL,
        max_tokens=300,
        system=SYSTEM,
        messages=[{"role": "user", "content": question}],
    )
    return "".join(block.text for block in reply.content if block.type == "text")


async def answer_streamed(question: str) -> str:
    async with (
        anthropic.AsyncAnthropic() as client,
        client.messages.stream(
            model=MODEL,
            max_tokens=300,
            system=SYSTEM,
            messages=[{"role": "user", "content": question}],
        ) as stream,
    ):
        return "".join([text async for text in stream.text_stream])
