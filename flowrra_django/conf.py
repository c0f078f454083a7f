"""The ``FLOWRRA = {...}`` settings dict: defaults, a cached getter, and the core Config.

Every key has a default, so a project with no ``FLOWRRA`` setting at all uses its own
database as broker and result store (``django://``). Values are validated once, by the core
:class:`~flowrra.Config` classes; :func:`find_problems` attributes each error to its key for
the system checks, and :func:`get_config` raises ``ImproperlyConfigured`` on the first one.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

from flowrra.backends import BACKENDS
from flowrra.brokers import BROKERS
from flowrra.config import BackendConfig, BrokerConfig, Config, ExecutorConfig
from flowrra.exceptions import ConfigurationError

#: Called once in each CPU worker process: sets Django up there.
CPU_INITIALIZER = "flowrra_django.runtime.setup_worker_process"

DEFAULTS: dict[str, Any] = {
    # where messages wait and results live; "django://" is this project's default database,
    # "django://<alias>" another one; "redis://..." scales out
    "BROKER_URL": "django://",
    "RESULT_BACKEND": "django://",
    # extra BrokerConfig / BackendConfig fields, e.g. {"visibility_timeout": 600}
    "BROKER_OPTIONS": {},
    "RESULT_BACKEND_OPTIONS": {},
    # the worker
    "IO_WORKERS": 4,
    "CPU_WORKERS": 2,
    # messages a worker claims beyond those running: each claim of the django:// broker is
    # a commit, so a batch is cheaper than one by one; set 1 for long tasks on many workers
    "PREFETCH": 64,
    "QUEUES": None,
    "MAX_RETRIES": 3,
    "RETRY_DELAY": 1.0,
    "MAX_QUEUE_SIZE": 1000,
    "SHUTDOWN_TIMEOUT": 30.0,
    "HEARTBEAT_INTERVAL": 5.0,
    # the django:// broker: longest pause between two looks at an empty queue (seconds); a
    # NOTIFY (PostgreSQL) or a change of the database file (SQLite) wakes an idle worker sooner
    "POLL_INTERVAL": 0.5,
    # the django:// broker on PostgreSQL behind a transaction pooler (PgBouncer): a URL that
    # reaches the database directly, on which idle workers LISTEN for new messages
    "DIRECT_DATABASE_URL": None,
    # submit() inside transaction.atomic() waits for the commit
    "SUBMIT_ON_COMMIT": True,
    # flowrra_cleanup deletes finished results older than this many days
    "CLEANUP_AFTER_DAYS": 30,
    # the dashboard (/flowrra/) needs staff users; a permission ("app_label.codename") too
    "DASHBOARD_PERMISSION": None,
    # the JSON API and /flowrra/metrics: {"<secret token>": "<username>"}; a request with
    # "Authorization: Bearer <token>" acts as that (active staff) user
    "API_TOKENS": {},
    # the largest request body the API reads (bytes); a larger one is a 413
    "API_MAX_BODY": 1_000_000,
    # live dashboard: "auto" (channel layer when it crosses processes, else the database),
    # "channels", "poll" or "off"; and the seconds over which a task's events are coalesced
    "LIVE_UPDATES": "auto",
    "LIVE_INTERVAL": 0.1,
}

#: Keys whose values a message never repeats.
_SECRET_KEYS = frozenset({"API_TOKENS", "DIRECT_DATABASE_URL"})
#: The shortest API token accepted (a guessable token is no protection).
MIN_TOKEN_LENGTH = 24

#: Settings key -> ExecutorConfig field.
EXECUTOR_KEYS = {
    "IO_WORKERS": "io_workers",
    "CPU_WORKERS": "cpu_workers",
    "PREFETCH": "prefetch",
    "QUEUES": "queues",
    "MAX_RETRIES": "max_retries",
    "RETRY_DELAY": "retry_delay",
    "MAX_QUEUE_SIZE": "max_queue_size",
}


_POSTGRES_SCHEMES = ("postgres://", "postgresql://")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


#: Keys only this app reads: (is the value valid?, what a valid value is).
_OWN_KEYS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "SHUTDOWN_TIMEOUT": (lambda v: _is_number(v) and v > 0, "a number of seconds > 0"),
    "HEARTBEAT_INTERVAL": (lambda v: _is_number(v) and v > 0, "a number of seconds > 0"),
    "POLL_INTERVAL": (lambda v: _is_number(v) and v > 0, "a number of seconds > 0"),
    "DIRECT_DATABASE_URL": (
        lambda v: v is None or (isinstance(v, str) and v.startswith(_POSTGRES_SCHEMES)),
        "None or a PostgreSQL URL such as 'postgres://user:password@db-host:5432/name'",
    ),
    "SUBMIT_ON_COMMIT": (lambda v: isinstance(v, bool), "True or False"),
    "CLEANUP_AFTER_DAYS": (
        lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1,
        "a whole number of days >= 1",
    ),
    "DASHBOARD_PERMISSION": (
        lambda v: (
            v is None or (isinstance(v, str) and v.count(".") == 1 and "" not in v.split("."))
        ),
        "None or a permission name such as 'flowrra_django.view_taskresult'",
    ),
    "API_TOKENS": (
        lambda v: (
            isinstance(v, Mapping)
            and all(
                isinstance(token, str)
                and len(token) >= MIN_TOKEN_LENGTH
                and isinstance(user, str)
                and user
                for token, user in v.items()
            )
        ),
        f"a dict of tokens (strings of at least {MIN_TOKEN_LENGTH} characters, such as "
        "secrets.token_urlsafe(32)) to usernames",
    ),
    "API_MAX_BODY": (
        lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1024,
        "a whole number of bytes >= 1024",
    ),
    "LIVE_UPDATES": (
        lambda v: v in ("auto", "channels", "poll", "off"),
        "'auto', 'channels', 'poll' or 'off'",
    ),
    "LIVE_INTERVAL": (lambda v: _is_number(v) and 0 < v <= 5, "a number of seconds in (0, 5]"),
}


@dataclass(frozen=True)
class Problem:
    """One invalid setting: the system check id, the message and how to fix it."""

    id: str
    message: str
    hint: str


def user_settings() -> Any:
    """The project's raw ``FLOWRRA`` setting (``{}`` when unset)."""
    return getattr(settings, "FLOWRRA", {})


@lru_cache(maxsize=1)
def flowrra_settings() -> dict[str, Any]:
    """The defaults overlaid with the project's ``FLOWRRA`` dict (cached; cleared when the
    setting changes)."""
    raw = user_settings()
    return {**DEFAULTS, **(raw if isinstance(raw, Mapping) else {})}


@receiver(setting_changed)
def _clear_cache(*, setting: str, **kwargs: Any) -> None:
    if setting == "FLOWRRA":
        flowrra_settings.cache_clear()


def _bad(key: str, message: str) -> Problem:
    return Problem("flowrra.E003", f"FLOWRRA[{key!r}]: {message}", f"Correct FLOWRRA[{key!r}].")


def find_problems(raw: Any) -> list[Problem]:
    """Every problem in a raw ``FLOWRRA`` value, one per key, in a stable order."""
    if not isinstance(raw, Mapping):
        return [
            Problem(
                "flowrra.E003",
                f"FLOWRRA must be a dict, got {type(raw).__name__}.",
                "Write FLOWRRA = {'BROKER_URL': ..., ...} in your settings, or remove it.",
            )
        ]
    problems = []
    for key in sorted(set(raw) - set(DEFAULTS), key=str):
        close = difflib.get_close_matches(str(key), DEFAULTS, n=1)
        hint = f"Did you mean {close[0]!r}? " if close else ""
        problems.append(
            Problem(
                "flowrra.E001",
                f"FLOWRRA has an unknown key {key!r}.",
                f"{hint}Known keys: {', '.join(DEFAULTS)}.",
            )
        )
    values = {**DEFAULTS, **raw}
    for key, registry in (("BROKER_URL", BROKERS), ("RESULT_BACKEND", BACKENDS)):
        try:
            registry.scheme_of(values[key])
        except ConfigurationError as exc:
            problems.append(
                Problem(
                    "flowrra.E002",
                    f"FLOWRRA[{key!r}]: {exc}",
                    "Use django:// (this project's database), redis://host:6379/0 or memory://.",
                )
            )
            continue
        options_key = "BROKER_OPTIONS" if key == "BROKER_URL" else "RESULT_BACKEND_OPTIONS"
        problem = _check_options(values, key, options_key)
        if problem is not None:
            problems.append(problem)
    for key, field in EXECUTOR_KEYS.items():
        try:
            ExecutorConfig(**{field: values[key]})
        except (ConfigurationError, TypeError) as exc:
            problems.append(_bad(key, str(exc)))
    for key, (valid, expected) in _OWN_KEYS.items():
        if not valid(values[key]):
            shown = "a value not shown here" if key in _SECRET_KEYS else repr(values[key])
            problems.append(_bad(key, f"must be {expected}, got {shown}"))
    return problems


def _check_options(values: Mapping[str, Any], url_key: str, options_key: str) -> Problem | None:
    cls = BrokerConfig if url_key == "BROKER_URL" else BackendConfig
    try:
        cls(url=values[url_key])  # the URL's own options and values, by the core's parser
    except ConfigurationError as exc:
        return _bad(url_key, str(exc))
    try:
        _component_config(values, url_key, options_key)
    except ConfigurationError as exc:
        return _bad(options_key, str(exc))
    return None


def _component_config(
    values: Mapping[str, Any], url_key: str, options_key: str
) -> BrokerConfig | BackendConfig:
    cls: type[BrokerConfig] | type[BackendConfig] = (
        BrokerConfig if url_key == "BROKER_URL" else BackendConfig
    )
    options = values[options_key]
    if not isinstance(options, Mapping):
        raise ConfigurationError(f"must be a dict of {cls.__name__} fields, got {options!r}")
    allowed = {field.name for field in dataclasses.fields(cls)} - {"url"}
    unknown = sorted(set(options) - allowed, key=str)
    if unknown:
        raise ConfigurationError(
            f"unknown option(s) {', '.join(map(repr, unknown))}; "
            f"allowed: {', '.join(sorted(allowed))}"
        )
    return cls(url=values[url_key], **options)


def build_config(values: Mapping[str, Any]) -> Config:
    """The core :class:`Config` for merged settings ``values`` (assumed valid)."""
    executor = {field: values[key] for key, field in EXECUTOR_KEYS.items()}
    broker = _component_config(values, "BROKER_URL", "BROKER_OPTIONS")
    backend = _component_config(values, "RESULT_BACKEND", "RESULT_BACKEND_OPTIONS")
    assert isinstance(broker, BrokerConfig) and isinstance(backend, BackendConfig)
    return Config(
        broker=broker,
        backend=backend,
        executor=ExecutorConfig(**executor, cpu_initializer=CPU_INITIALIZER),
    )


def get_config() -> Config:
    """The core Config from settings; ``ImproperlyConfigured`` naming the first bad key."""
    problems = find_problems(user_settings())
    if problems:
        first = problems[0]
        raise ImproperlyConfigured(f"{first.message} {first.hint} ({first.id})")
    return build_config(flowrra_settings())
