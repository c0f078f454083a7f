"""Hostile input on the Redis broker (hypothesis): random bytes, truncated and deeply nested
JSON, huge values, wrong types and names of code that is not a registered task, written
straight into the queues, plus bad entries in every other key the broker owns. The worker
keeps serving good tasks, sets each bad message aside once with its reason, and imports or
runs nothing that is not a registered task."""

from __future__ import annotations

import asyncio
import json
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowrra import BackendConfig, BrokerConfig, Config, ExecutorConfig, Flowrra, TaskStatus
from tests.core.redis.conftest import Space, new_space, redis_missing
from tests.services import unavailable

pytestmark = pytest.mark.redis

GOOD = {"id": "x", "name": "double", "args": [1], "kwargs": {}}


def message(**fields: object) -> bytes:
    return json.dumps({**GOOD, "id": secrets.token_hex(6), **fields}).encode()


bad_messages = st.one_of(
    st.binary(max_size=300),
    st.builds(lambda n: message()[:n], st.integers(1, 40)),  # truncated JSON
    st.builds(lambda d: b"[" * d + b"]" * d, st.integers(1_100, 50_000)),
    st.builds(
        lambda d: message()[:-1] + b', "deep": ' + b"[" * d + b"]" * d + b"}",
        st.integers(5_000, 50_000),
    ),
    st.builds(lambda n: message(args=["x" * n]), st.integers(300_000, 1_200_000)).map(
        lambda m: m.replace(b'"double"', b'"not.registered"')
    ),
    st.builds(
        message,
        name=st.sampled_from(["tests.chaos.canary.boom", "os.system", "", "builtins.eval"]),
    ),
    st.builds(
        message,
        args=st.one_of(st.integers(), st.none(), st.text(max_size=5)),
        priority=st.one_of(st.text(max_size=3), st.integers(-5, 50)),
        eta=st.text(max_size=5),
    ),
    st.builds(json.dumps, st.one_of(st.integers(), st.lists(st.integers()), st.text())).map(
        str.encode
    ),
)


@pytest.fixture
def space() -> Iterator[Space]:
    reason = redis_missing()
    if reason:
        unavailable(reason)
    made = new_space()
    try:
        yield made
    finally:
        made.clean()
        made.client.close()


def make_app(url: str) -> Flowrra:
    app = Flowrra(
        Config(
            broker=BrokerConfig(url=url),
            backend=BackendConfig(url=url),
            executor=ExecutorConfig(io_workers=2, retry_delay=0.01),
        )
    )

    @app.task(name="double", max_retries=0)
    async def double(value: int) -> int:
        return 2 * value

    return app


async def serve(space: Space, bad: list[bytes]) -> tuple[list[TaskStatus], list[dict]]:
    """Queue ``bad`` raw, submit good tasks around them, run a worker until the good ones are
    done; returns their statuses and the dead letters."""
    app = make_app(space.url)
    await app.start()
    try:
        before = [await app.submit("double", i) for i in range(3)]
        space.client.sadd(space.key("queues"), "default")
        if bad:
            space.client.rpush(space.key("q", "default", "0"), *bad)
        after = [await app.submit("double", i) for i in range(3)]
        results = [await app.wait_for_result(t, timeout=60) for t in before + after]
        broker = app.broker_required
        # a raw push wakes no idle worker: it finds them at its next look (within 1 s)
        for _ in range(100):
            dead = await broker.dead_letters(1000)
            if len(dead) >= len(bad) and not (await broker.queue_sizes()).get("default"):
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.3)
        dead = await broker.dead_letters(1000)
    finally:
        await app.stop()
    return [result.status for result in results], dead


@settings(
    max_examples=20,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(bad_messages, min_size=1, max_size=6))
def test_a_worker_sets_each_hostile_message_aside_once_and_serves_the_rest(
    space: Space, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bad: list[bytes]
) -> None:
    space.clean()
    mark = tmp_path / "canary"
    monkeypatch.setenv("FLOWRRA_CANARY_MARK", str(mark))
    statuses, dead = asyncio.run(serve(space, bad))

    assert statuses == [TaskStatus.SUCCESS] * 6
    assert len(dead) == len(bad)
    assert all(letter["reason"] for letter in dead)
    assert "tests.chaos.canary" not in sys.modules and not mark.exists()


def test_bad_entries_in_every_key_the_broker_owns_leave_good_tasks_served(space: Space) -> None:
    c, key = space.client, space.key
    c.zadd(key("delayed"), {"no separators": 0, "q|x|{}": 1, "default|3|": 2})
    c.hset(key("sleepers", "default"), mapping={"ghost": "nope", "ghost2": "1|2|3"})
    c.zadd(key("leases"), {"dead-consumer": 1})  # its lease ran out long ago
    c.hset(key("held", "dead-consumer"), mapping={"7": "garbage", "x": "1|2|default|0|{}"})
    c.zadd(key("due"), {"dead-consumer": 1})
    c.rpush(key("wake", "dead-consumer"), "not a tag", "99|{}")
    c.zadd(key("revoked"), {"never-submitted": 1})
    c.sadd(key("queues"), "default", "bad queue name")

    statuses, dead = asyncio.run(serve(space, []))

    assert statuses == [TaskStatus.SUCCESS] * 6
    reasons = sorted(letter["reason"].split(":")[0] for letter in dead)
    assert reasons == [
        "malformed delayed entry",  # three members without a queue, a priority or a message
        "malformed delayed entry",
        "malformed delayed entry",
        "malformed held entry",  # "garbage", given back when its consumer's lease ran out
        "malformed message",  # "{}", given back the same way, then fetched
    ]
    assert c.zcard(key("delayed")) == 0
    assert not c.exists(key("held", "dead-consumer"))
