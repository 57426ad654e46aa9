"""An order-lookup agent built on Claude: tools, a cached policy prompt, citations, streaming."""

from order_agent.agent import POLICY, OrderAgent, Turn

__all__ = ["POLICY", "OrderAgent", "Turn"]
