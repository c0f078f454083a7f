"""The FLOWRRA setting: defaults, system checks (exact output) and the config built from it."""

from __future__ import annotations

import gc
import warnings

import pytest
from django.core.checks import Error, run_checks
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from flowrra_django.conf import DEFAULTS, flowrra_settings, get_config

KNOWN = ", ".join(DEFAULTS)


def flowrra_checks() -> list[object]:
    return run_checks(tags=["flowrra"])


def test_the_test_settings_pass_the_checks() -> None:
    assert flowrra_checks() == []


@override_settings(FLOWRRA={})
def test_no_settings_means_the_project_database_for_everything() -> None:
    config = get_config()
    assert config.broker is not None and config.broker.url == "django://"
    assert config.backend is not None and config.backend.url == "django://"
    assert config.executor.cpu_initializer == "flowrra_django.runtime.setup_worker_process"
    assert flowrra_checks() == []


def test_an_unknown_key_suggests_the_right_one() -> None:
    with override_settings(FLOWRRA={"BROKR_URL": "memory://"}):
        assert flowrra_checks() == [
            Error(
                "FLOWRRA has an unknown key 'BROKR_URL'.",
                hint=f"Did you mean 'BROKER_URL'? Known keys: {KNOWN}.",
                id="flowrra.E001",
            )
        ]


def test_an_unsupported_url_scheme_lists_the_supported_ones() -> None:
    with override_settings(FLOWRRA={"BROKER_URL": "amqp://guest:secret@rabbit//"}):
        errors = flowrra_checks()
    assert [e.id for e in errors] == ["flowrra.E002"]
    assert errors[0].msg.startswith(
        "FLOWRRA['BROKER_URL']: Unsupported broker URL scheme 'amqp' in "
        "'amqp://guest:***@rabbit//'; supported: django://, memory://, redis://"
    )
    assert errors[0].hint == (
        "Use django:// (this project's database), redis://host:6379/0 or memory://."
    )


def test_bad_values_name_their_key() -> None:
    bad = {
        "IO_WORKERS": 0,
        "QUEUES": ["ok", "no spaces"],
        "SUBMIT_ON_COMMIT": "yes",
        "CLEANUP_AFTER_DAYS": 0,
        "RESULT_BACKEND_OPTIONS": {"tll": 5},
    }
    with override_settings(FLOWRRA=bad):
        assert flowrra_checks() == [
            Error(
                "FLOWRRA['RESULT_BACKEND_OPTIONS']: unknown option(s) 'tll'; allowed: "
                "max_connections, retry_on_timeout, socket_timeout, ttl",
                hint="Correct FLOWRRA['RESULT_BACKEND_OPTIONS'].",
                id="flowrra.E003",
            ),
            Error(
                "FLOWRRA['IO_WORKERS']: ExecutorConfig.io_workers must be a whole number "
                ">= 1, got 0",
                hint="Correct FLOWRRA['IO_WORKERS'].",
                id="flowrra.E003",
            ),
            Error(
                "FLOWRRA['QUEUES']: ExecutorConfig.queues: queue must be 1-100 characters of "
                "letters, digits, '_', '.', ':' or '-', got 'no spaces'",
                hint="Correct FLOWRRA['QUEUES'].",
                id="flowrra.E003",
            ),
            Error(
                "FLOWRRA['SUBMIT_ON_COMMIT']: must be True or False, got 'yes'",
                hint="Correct FLOWRRA['SUBMIT_ON_COMMIT'].",
                id="flowrra.E003",
            ),
            Error(
                "FLOWRRA['CLEANUP_AFTER_DAYS']: must be a whole number of days >= 1, got 0",
                hint="Correct FLOWRRA['CLEANUP_AFTER_DAYS'].",
                id="flowrra.E003",
            ),
        ]


def test_a_core_validation_error_is_reported_as_is() -> None:
    with override_settings(FLOWRRA={"BROKER_OPTIONS": {"visibility_timeout": -1}}):
        assert flowrra_checks() == [
            Error(
                "FLOWRRA['BROKER_OPTIONS']: BrokerConfig.visibility_timeout must be a number "
                "> 0, got -1",
                hint="Correct FLOWRRA['BROKER_OPTIONS'].",
                id="flowrra.E003",
            )
        ]


def test_flowrra_must_be_a_dict() -> None:
    with override_settings(FLOWRRA=["BROKER_URL"]):
        assert flowrra_checks() == [
            Error(
                "FLOWRRA must be a dict, got list.",
                hint="Write FLOWRRA = {'BROKER_URL': ..., ...} in your settings, or remove it.",
                id="flowrra.E003",
            )
        ]


def test_a_django_url_must_name_a_configured_database() -> None:
    with override_settings(FLOWRRA={"RESULT_BACKEND": "django://reporting"}):
        assert flowrra_checks() == [
            Error(
                "FLOWRRA['RESULT_BACKEND'] is 'django://reporting', but DATABASES has no "
                "'reporting' database.",
                hint="Use 'django://' for the default database or 'django://<alias>' with "
                "one of: default.",
                id="flowrra.E004",
            )
        ]


@override_settings(USE_TZ=False)
def test_use_tz_is_required() -> None:
    assert flowrra_checks() == [
        Error(
            "flowrra_django needs USE_TZ = True: task times are stored as aware UTC datetimes.",
            hint="Set USE_TZ = True in your settings (Django's default).",
            id="flowrra.E006",
        )
    ]


def test_get_config_raises_improperly_configured_with_the_first_problem() -> None:
    with (
        override_settings(FLOWRRA={"POLL_INTERVAL": 0}),
        pytest.raises(ImproperlyConfigured, match=r"POLL_INTERVAL.*> 0, got 0 .*flowrra.E003"),
    ):
        get_config()


def test_the_settings_cache_follows_setting_changes() -> None:
    assert flowrra_settings()["IO_WORKERS"] == 4
    with override_settings(FLOWRRA={"IO_WORKERS": 9}):
        assert flowrra_settings()["IO_WORKERS"] == 9
        assert flowrra_settings()["CPU_WORKERS"] == DEFAULTS["CPU_WORKERS"]
    assert flowrra_settings()["IO_WORKERS"] == 4


@pytest.mark.parametrize(
    ("key", "url", "problem"),
    [
        (
            "BROKER_URL",
            "redis://127.0.0.1:6379/0?visibilty_timeout=5",
            "Invalid Redis URL 'redis://127.0.0.1:6379/0?visibilty_timeout=5': unknown option "
            "'visibilty_timeout' (did you mean 'visibility_timeout.<name>'?); known options: ",
        ),
        (
            "BROKER_URL",
            "redis://:secret@127.0.0.1:6379/0?visibility_timeout.emails=soon",
            "Invalid option visibility_timeout.emails='soon' in broker URL "
            "'redis://:***@127.0.0.1:6379/0?visibility_timeout.emails=soon'",
        ),
        (
            "RESULT_BACKEND",
            "redis://127.0.0.1:6379/0?socket_connect_timeout=soon",
            "option socket_connect_timeout='soon': could not convert string to float",
        ),
        (
            "RESULT_BACKEND",
            "redis://127.0.0.1:6379/0?visibility_timeout.emails=5",
            "unknown option 'visibility_timeout.emails'",
        ),
    ],
)
def test_the_options_and_values_in_a_url_are_checked(key: str, url: str, problem: str) -> None:
    with override_settings(FLOWRRA={key: url}):
        errors = flowrra_checks()
    assert [(e.id, e.hint) for e in errors] == [("flowrra.E003", f"Correct FLOWRRA[{key!r}].")]
    assert errors[0].msg.startswith(f"FLOWRRA[{key!r}]: ")
    assert problem in errors[0].msg


def test_submit_with_a_bad_url_raises_the_check_error_and_leaves_no_coroutine() -> None:
    from flowrra_django import runtime, submit
    from tests.django.testapp import tasks

    runtime.shutdown()
    url = "redis://127.0.0.1:6379/0?visibilty_timeout=5"
    with (
        override_settings(FLOWRRA={"BROKER_URL": url}),
        warnings.catch_warnings(record=True) as caught,
    ):
        warnings.simplefilter("always")
        with pytest.raises(ImproperlyConfigured, match="unknown option 'visibilty_timeout'"):
            submit(tasks.add, 1, 2)
        gc.collect()
    assert [str(w.message) for w in caught] == []
