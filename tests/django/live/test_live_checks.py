"""W010: the system check on live updates that cannot cross processes."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings

from flowrra_django.live import check_live_updates, mode

from .conftest import IN_MEMORY

REDIS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {}}}


@pytest.mark.parametrize(
    ("layers", "flowrra", "expected_mode", "warned"),
    [
        (IN_MEMORY, {}, "poll", False),
        (REDIS, {}, "channels", False),
        ({}, {}, "poll", False),
        (IN_MEMORY, {"LIVE_UPDATES": "channels"}, "channels", True),
        (IN_MEMORY, {"RESULT_BACKEND": "redis://127.0.0.1:6379/0"}, "poll", True),
        (REDIS, {"LIVE_UPDATES": "poll", "RESULT_BACKEND": "memory://"}, "poll", True),
        (IN_MEMORY, {"LIVE_UPDATES": "off"}, "off", False),
    ],
)
def test_the_settings_pick_the_path_and_warn_when_it_cannot_work(
    layers: dict[str, Any], flowrra: dict[str, Any], expected_mode: str, warned: bool
) -> None:
    with override_settings(CHANNEL_LAYERS=layers, FLOWRRA=flowrra):
        assert mode() == expected_mode
        messages = check_live_updates()
    assert [m.id for m in messages] == (["flowrra.W010"] if warned else [])
