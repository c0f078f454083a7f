"""Reading Redis URLs: every supported form, the options, and errors that say what to fix."""

from __future__ import annotations

import pytest

from flowrra import BackendConfig, BrokerConfig, ConfigurationError
from flowrra.backends.redis import RedisBackend
from flowrra.brokers.redis import RedisBroker
from flowrra.plugins import mask_url
from flowrra.redis_url import parse_redis_url


def test_tcp_url_with_user_password_db_and_options() -> None:
    target = parse_redis_url(
        "redis://app:p%40ss@cache.local:6380/3?key_prefix=jobs&socket_connect_timeout=2"
    )
    assert target.connection == {
        "username": "app",
        "password": "p@ss",
        "host": "cache.local",
        "port": 6380,
        "db": 3,
        "socket_connect_timeout": 2.0,
    }
    assert target.key_prefix == "jobs"


def test_tls_unix_socket_and_sentinel_urls() -> None:
    tls = parse_redis_url("rediss://:pw@host/0?ssl_cert_reqs=none&ssl_ca_certs=/ca.pem")
    assert tls.connection["ssl"] is True and tls.connection["ssl_cert_reqs"] == "none"
    unix = parse_redis_url("unix://:pw@/run/redis.sock?db=2")
    assert unix.connection == {"password": "pw", "path": "/run/redis.sock", "db": 2}
    sentinel = parse_redis_url(
        "redis+sentinel://:pw@s1:26379,s2:26380/mymaster/4?sentinel_password=spw"
    )
    assert sentinel.sentinels == (("s1", 26379), ("s2", 26380))
    assert sentinel.service_name == "mymaster" and sentinel.connection["db"] == 4
    assert sentinel.sentinel_auth == {"password": "spw"}


def test_a_cluster_url_names_some_nodes_and_gives_every_key_one_hash_tag() -> None:
    target = parse_redis_url("redis+cluster://:pw@n1:7000,n2?key_prefix=jobs&shards=3")
    assert target.cluster_nodes == (("n1", 7000), ("n2", 6379))
    assert target.connection == {"password": "pw"}
    assert target.key_prefix == "{jobs}" and target.shards == 3
    assert parse_redis_url("redis+cluster://n1:7000").key_prefix == "{flowrra}"
    assert parse_redis_url("redis+cluster://n1?key_prefix=app:{x}:").key_prefix == "app:{x}:"
    assert parse_redis_url("redis+cluster://n1?key_prefix={}x").key_prefix == "{{}x}"
    assert parse_redis_url("rediss+cluster://n1:7000").connection["ssl"] is True
    broker = RedisBroker(BrokerConfig(url="redis+cluster://n1:7000", queue_key="q"))
    assert broker.prefix == "{q}"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis://host/0?nope=1", "unknown option 'nope'"),
        ("redis://host/zero", "invalid literal"),
        ("redis://host/0/1", "just the db number"),
        ("redis://host/0?ssl_cert_reqs=maybe", "required, optional or none"),
        ("redis://host/0?key_prefix=a b", "key_prefix must be"),
        ("redis+sentinel://s1:26379", "needs the service name"),
        ("unix://", "socket path"),
        ("redis+cluster://n1:7000/1", "only db 0"),
        ("redis+cluster://n1:7000?shards=0", "shards must be"),
        ("redis://host/0?shards=2", "unknown option 'shards'"),
    ],
)
def test_bad_urls_say_what_to_fix(url: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        parse_redis_url(url)


def test_passwords_are_masked_everywhere_they_can_be() -> None:
    url = "redis+sentinel://user:secret@s1:26379/master?sentinel_password=other"
    assert mask_url(url) == "redis+sentinel://user:***@s1:26379/master?sentinel_password=***"
    assert RedisBroker(BrokerConfig(url="redis://:secret@h/1")).describe() == "redis://:***@h/1"
    assert "secret" not in RedisBackend(BackendConfig(url="rediss://:secret@h/1")).describe()


def test_per_queue_visibility_timeout_is_a_broker_option() -> None:
    broker = RedisBroker(BrokerConfig(url="redis://h/0?visibility_timeout.reports=7200"))
    assert broker.queue_visibility == {"reports": 7200.0}
    with pytest.raises(ConfigurationError, match="seconds > 0"):
        RedisBroker(BrokerConfig(url="redis://h/0?visibility_timeout.reports=-1"))
    with pytest.raises(ConfigurationError, match="unknown option"):
        RedisBackend(BackendConfig(url="redis://h/0?visibility_timeout.reports=1"))
