from __future__ import annotations

import pytest

from tests.webhooks.receiver import Receiver


@pytest.fixture
def receiver():
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def private_hosts(settings):
    """Let webhooks reach the receiver on 127.0.0.1 (SSRF guard off)."""
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = True
    return settings
