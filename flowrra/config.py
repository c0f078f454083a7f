"""Configuration dataclasses, validated on creation, and :meth:`Config.from_env`."""

from __future__ import annotations

import dataclasses
import os
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .exceptions import ConfigurationError

if TYPE_CHECKING:
    from .backends.base import BaseResultBackend
    from .brokers.base import BaseBroker
    from .scheduler.backends import BaseSchedulerBackend


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigurationError(message)


def _positive_number(name: str, value: Any, *, allow_zero: bool = False) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    ok = ok and (value >= 0 if allow_zero else value > 0)
    bound = ">= 0" if allow_zero else "> 0"
    _require(ok, f"{name} must be a number {bound}, got {value!r}")


def _whole_number(name: str, value: Any, *, minimum: int) -> None:
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= minimum
    _require(ok, f"{name} must be a whole number >= {minimum}, got {value!r}")


@dataclass
class BrokerConfig:
    """Where task messages are queued: ``memory://``, ``redis://``, ``django://`` ..."""

    url: str
    max_connections: int = 50
    socket_timeout: float = 5.0
    retry_on_timeout: bool = True
    queue_key: str | None = None
    visibility_timeout: float = 3600.0

    def __post_init__(self) -> None:
        from .brokers import BROKERS

        BROKERS.resolve(self.url).check_url(self.url)
        _whole_number("BrokerConfig.max_connections", self.max_connections, minimum=1)
        _positive_number("BrokerConfig.socket_timeout", self.socket_timeout)
        _positive_number("BrokerConfig.visibility_timeout", self.visibility_timeout)

    def create_broker(self, queue_suffix: str = "") -> BaseBroker:
        """Create the broker this URL names; ``queue_suffix`` extends the key prefix."""
        from .brokers import BROKERS

        config = self
        if queue_suffix:
            config = dataclasses.replace(
                self, queue_key=(self.queue_key or "flowrra") + queue_suffix
            )
        broker: BaseBroker = BROKERS.resolve(self.url)(config)
        return broker


@dataclass
class BackendConfig:
    """Where results are stored; ``ttl`` is how long a final result is kept (default one day)."""

    url: str
    ttl: int | None = None
    max_connections: int = 50
    socket_timeout: float = 5.0
    retry_on_timeout: bool = True

    def __post_init__(self) -> None:
        from .backends import BACKENDS

        BACKENDS.resolve(self.url).check_url(self.url)
        if self.ttl is not None:
            _whole_number("BackendConfig.ttl", self.ttl, minimum=1)
        _whole_number("BackendConfig.max_connections", self.max_connections, minimum=1)
        _positive_number("BackendConfig.socket_timeout", self.socket_timeout)

    def create_backend(self) -> BaseResultBackend:
        """Create the result backend this URL names."""
        from .backends import BACKENDS

        backend: BaseResultBackend = BACKENDS.resolve(self.url)(self)
        return backend


@dataclass
class ExecutorConfig:
    """How tasks run: concurrency, the in-memory queue bound and default retry policy.

    ``prefetch`` is how many messages a worker holds beyond those running (default: 64,
    or four per concurrent task if that is more); ``queues`` are the queues an in-process
    worker consumes (default: ``default`` and every queue a registered task names);
    ``cpu_initializer`` is a dotted path called once in each CPU worker process
    (``flowrra_django`` uses it for ``django.setup()``).
    """

    io_workers: int = 4
    cpu_workers: int = 2
    max_queue_size: int = 1000
    max_retries: int = 3
    retry_delay: float = 1.0
    prefetch: int | None = None
    queues: tuple[str, ...] | None = None
    cpu_initializer: str | None = None

    def __post_init__(self) -> None:
        from .registry import validate_options

        _whole_number("ExecutorConfig.io_workers", self.io_workers, minimum=1)
        _whole_number("ExecutorConfig.cpu_workers", self.cpu_workers, minimum=1)
        _whole_number("ExecutorConfig.max_queue_size", self.max_queue_size, minimum=0)
        _whole_number("ExecutorConfig.max_retries", self.max_retries, minimum=0)
        _positive_number("ExecutorConfig.retry_delay", self.retry_delay, allow_zero=True)
        if self.prefetch is not None:
            _whole_number("ExecutorConfig.prefetch", self.prefetch, minimum=1)
        if self.queues is not None:
            self.queues = tuple(self.queues)
            _require(bool(self.queues), "ExecutorConfig.queues must name at least one queue")
            for queue in self.queues:
                try:
                    validate_options(queue=queue)
                except ValueError as exc:
                    raise ConfigurationError(f"ExecutorConfig.queues: {exc}") from None


@dataclass
class SchedulerConfig:
    """Scheduler storage and polling; ``database_url`` None means ``.flowrra_schedule.db``."""

    database_url: str | None = None
    check_interval: float = 60.0
    enabled: bool = False

    def __post_init__(self) -> None:
        _positive_number("SchedulerConfig.check_interval", self.check_interval)

    def create_backend(self) -> BaseSchedulerBackend:
        """The schedule store ``database_url`` names (``sqlite:///path.db``,
        ``postgresql://user:pass@host/db``, ``mysql://user:pass@host/db``, ``memory://``,
        ``django://``); SQLite in ``.flowrra_schedule.db`` when None."""
        from .scheduler.backends import create_store

        return create_store(self.database_url)


@dataclass
class Config:
    """Everything an app needs; each part is optional with in-memory defaults."""

    broker: BrokerConfig | None = None
    backend: BackendConfig | None = None
    executor: ExecutorConfig = field(default_factory=ExecutorConfig)
    scheduler: SchedulerConfig | None = None

    def create_broker(self, queue_suffix: str = "") -> BaseBroker | None:
        """The configured broker, or None when the in-memory default applies."""
        return self.broker.create_broker(queue_suffix) if self.broker else None

    def create_backend(self) -> BaseResultBackend:
        """The configured result backend, in memory when none is configured."""
        if self.backend is not None:
            return self.backend.create_backend()
        from .backends.memory import MemoryBackend

        return MemoryBackend()

    def create_scheduler_backend(self) -> BaseSchedulerBackend | None:
        """The schedule store ``scheduler`` names (see :meth:`SchedulerConfig.create_backend`),
        or None when no scheduler is configured."""
        return self.scheduler.create_backend() if self.scheduler is not None else None

    @classmethod
    def from_env(cls, prefix: str = "FLOWRRA_", environ: Mapping[str, str] | None = None) -> Config:
        """Build a config from ``{prefix}BROKER_URL``, ``{prefix}RESULT_BACKEND`` and the
        other variables listed in ``ENV_VARIABLES``; a malformed value names its variable."""
        env = os.environ if environ is None else environ
        values: dict[str, dict[str, Any]] = {}
        for suffix, (section, key, parse) in ENV_VARIABLES.items():
            found = _lookup(env, prefix, suffix)
            if found is None:
                continue
            name, raw = found
            try:
                values.setdefault(section, {})[key] = parse(raw)
            except ValueError as exc:
                raise ConfigurationError(f"{name}={raw!r}: {exc}") from None
        try:
            broker = values.get("broker")
            backend = values.get("backend")
            scheduler = values.get("scheduler")
            return cls(
                broker=BrokerConfig(**broker) if broker and "url" in broker else None,
                backend=BackendConfig(**backend) if backend and "url" in backend else None,
                executor=ExecutorConfig(**values.get("executor", {})),
                scheduler=SchedulerConfig(**scheduler) if scheduler else None,
            )
        except ConfigurationError as exc:
            raise ConfigurationError(f"{exc} (from {prefix}* environment variables)") from None


def _lookup(env: Mapping[str, str], prefix: str, suffix: str) -> tuple[str, str] | None:
    """The variable that sets ``suffix`` and its value, if any; a renamed variable still
    counts (below the new one) with a warning."""
    name = prefix + suffix
    raw = env.get(name, "").strip()
    old = RENAMED_ENV_VARIABLES.get(suffix)
    old_raw = env.get(prefix + old, "").strip() if old else ""
    if old and old_raw:
        warnings.warn(
            f"{prefix}{old} is deprecated and will be removed in the next release: set {name} "
            + ("(also set, so it wins)" if raw else "instead"),
            FutureWarning,
            stacklevel=3,
        )
        if not raw:
            return prefix + old, old_raw
    return (name, raw) if raw else None


def parse_bool(raw: str) -> bool:
    """An on/off setting written as text (environment variables, URL options)."""
    lowered = raw.lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError("expected true/false, 1/0, yes/no or on/off")


def _parse_queues(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


#: Environment variable suffix -> (config section, field, parser).
ENV_VARIABLES: dict[str, tuple[str, str, Callable[[str], Any]]] = {
    "BROKER_URL": ("broker", "url", str),
    "BROKER_VISIBILITY_TIMEOUT": ("broker", "visibility_timeout", float),
    "RESULT_BACKEND": ("backend", "url", str),
    "RESULT_TTL": ("backend", "ttl", int),
    "IO_WORKERS": ("executor", "io_workers", int),
    "CPU_WORKERS": ("executor", "cpu_workers", int),
    "MAX_QUEUE_SIZE": ("executor", "max_queue_size", int),
    "MAX_RETRIES": ("executor", "max_retries", int),
    "RETRY_DELAY": ("executor", "retry_delay", float),
    "PREFETCH": ("executor", "prefetch", int),
    "QUEUES": ("executor", "queues", _parse_queues),
    "SCHEDULER_DATABASE_URL": ("scheduler", "database_url", str),
    "SCHEDULER_CHECK_INTERVAL": ("scheduler", "check_interval", float),
    "SCHEDULER_ENABLED": ("scheduler", "enabled", parse_bool),
}

#: Old variable suffixes still read for a release, with a warning: new suffix -> old suffix.
RENAMED_ENV_VARIABLES: dict[str, str] = {"RESULT_BACKEND": "BACKEND_URL"}
