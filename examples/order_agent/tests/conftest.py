import pytest
from order_agent import OrderAgent


@pytest.fixture
def agent() -> OrderAgent:
    # A fresh client per test, created inside it: replay lends the SDK a placeholder key.
    return OrderAgent()
