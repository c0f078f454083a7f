"""Configuration: defaults, validation messages, environment variables and URL schemes."""

from __future__ import annotations

import pytest

from flowrra import BackendConfig, BrokerConfig, Config, ConfigurationError, ExecutorConfig
from flowrra.backends.memory import MemoryBackend
from flowrra.plugins import SchemeRegistry, mask_url


def test_defaults_are_in_memory() -> None:
    config = Config()
    assert config.create_broker() is None
    assert isinstance(config.create_backend(), MemoryBackend)
    assert config.executor == ExecutorConfig(io_workers=4, cpu_workers=2, max_queue_size=1000)


def test_from_env_reads_every_section() -> None:
    config = Config.from_env(
        environ={
            "APP_BROKER_URL": "memory://",
            "APP_RESULT_BACKEND": "memory://",
            "APP_RESULT_TTL": "60",
            "APP_IO_WORKERS": "16",
            "APP_QUEUES": "default, mail",
            "APP_SCHEDULER_ENABLED": "yes",
        },
        prefix="APP_",
    )
    assert config.broker == BrokerConfig(url="memory://")
    assert config.backend == BackendConfig(url="memory://", ttl=60)
    assert config.executor.io_workers == 16
    assert config.executor.queues == ("default", "mail")
    assert config.scheduler is not None and config.scheduler.enabled


def test_the_old_backend_variable_still_works_for_a_release_with_a_warning() -> None:
    with pytest.warns(FutureWarning, match="FLOWRRA_BACKEND_URL is deprecated.*RESULT_BACKEND"):
        config = Config.from_env(environ={"FLOWRRA_BACKEND_URL": "memory://"})
    assert config.backend == BackendConfig(url="memory://")


def test_the_new_backend_variable_wins_over_the_old_one() -> None:
    environ = {"FLOWRRA_BACKEND_URL": "redis://old:6379/1", "FLOWRRA_RESULT_BACKEND": "memory://"}
    with pytest.warns(FutureWarning, match="also set, so it wins"):
        config = Config.from_env(environ=environ)
    assert config.backend == BackendConfig(url="memory://")


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"FLOWRRA_IO_WORKERS": "many"}, "FLOWRRA_IO_WORKERS='many'"),
        ({"FLOWRRA_IO_WORKERS": "0"}, "io_workers must be a whole number >= 1, got 0"),
        ({"FLOWRRA_SCHEDULER_ENABLED": "perhaps"}, "expected true/false"),
        ({"FLOWRRA_QUEUES": "a b"}, "queue must be 1-100 characters"),
        ({"FLOWRRA_BROKER_URL": "amqp://host"}, "Unsupported broker URL scheme 'amqp'"),
    ],
)
def test_from_env_names_the_bad_variable(environ: dict, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Config.from_env(environ=environ)


def test_unknown_scheme_lists_the_supported_ones() -> None:
    with pytest.raises(ConfigurationError) as error:
        BrokerConfig(url="kafka://broker:9092")
    assert "supported: " in str(error.value)
    for scheme in ("memory://", "redis://", "rediss://"):
        assert scheme in str(error.value)


def test_url_without_scheme_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="has no scheme"):
        BackendConfig(url="localhost:6379")


def test_missing_optional_dependency_says_which_extra_to_install() -> None:
    registry = SchemeRegistry("broker")
    registry.register("fake", "tests.core.needs_missing_dependency:Broker", extra="fake")
    with pytest.raises(ConfigurationError) as error:
        registry.resolve("fake://:pw@host")
    assert str(error.value) == (
        "The broker for 'fake://:***@host' needs the 'flowrra_dependency_that_is_not_installed' "
        "package: pip install 'flowrra[fake]'"
    )


def test_passwords_are_masked_in_descriptions() -> None:
    assert mask_url("redis://:s3cret@host:6379/0") == "redis://:***@host:6379/0"
    assert mask_url("redis://user:s3cret@host/1") == "redis://user:***@host/1"
    assert mask_url("memory://") == "memory://"
    assert mask_url("django://replica") == "django://replica"
    assert mask_url("redis://:p@ss@host/0") == "redis://:***@host/0"
    assert mask_url("redis://host/0?password=x&db=2") == "redis://host/0?password=***&db=2"
    assert mask_url("sqlite:///s.db?table=a%20b") == "sqlite:///s.db?table=a%20b"
    assert mask_url("redis://:pw@[::1/0") == "redis://***"


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        (lambda: ExecutorConfig(cpu_workers=0), "cpu_workers must be a whole number >= 1"),
        (lambda: ExecutorConfig(retry_delay=-1), "retry_delay must be a number >= 0"),
        (lambda: ExecutorConfig(queues=()), "must name at least one queue"),
        (lambda: BackendConfig(url="memory://", ttl=0), "ttl must be a whole number >= 1"),
        (lambda: BrokerConfig(url="memory://", visibility_timeout=0), "visibility_timeout must be"),
        (lambda: BrokerConfig(url="redis://h/0?visibilty_timeout=5"), "unknown option 'visib"),
        (lambda: BrokerConfig(url="redis://h/0?visibility_timeout.q=x"), "visibility_timeout.q"),
        (lambda: BackendConfig(url="redis://h/0?db=-1"), "option db='-1': must be >= 0"),
    ],
)
def test_bad_values_are_refused_with_their_name(factory, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        factory()
