"""Stride's customer-support assistant: the example app pytest-llmeval's tests exercise."""

from support_bot.bot import INTENT_SCHEMA, SupportBot

__all__ = ["INTENT_SCHEMA", "SupportBot"]
