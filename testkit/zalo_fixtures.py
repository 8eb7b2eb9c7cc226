"""Pytest fixtures for the Zalo tests: a fake OA API server and a fake Telegram Bot API beside it
(for deployments with both); the HTTP client is `http` of testkit.telegram_fixtures. Loaded as a
plugin by tests/conftest.py."""

from __future__ import annotations

import pytest

from testkit.fakes.telegram_api import FakeTelegramAPI
from testkit.fakes.zalo_api import FakeZalo


@pytest.fixture
async def zalo():
    async with FakeZalo() as api:
        yield api


@pytest.fixture
async def telegram():
    async with FakeTelegramAPI() as api:
        yield api
