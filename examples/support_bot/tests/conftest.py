import pytest
from support_bot import SupportBot


@pytest.fixture
def bot() -> SupportBot:
    # A fresh client per test, created inside it: replay lends the SDK a placeholder key.
    return SupportBot()
