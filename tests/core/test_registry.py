"""Registering tasks: what is accepted, what is refused and how the error reads."""

from __future__ import annotations

import pytest

from flowrra import Flowrra, TaskNotFoundError, TaskRegistry
from flowrra.registry import TaskSpec
from tests.core import tasks


def test_task_decorator_returns_the_function_unchanged() -> None:
    app = Flowrra()

    async def fetch(url: str) -> str:
        return url

    assert app.task()(fetch) is fetch
    assert app.registry.resolve(fetch).name == "fetch"
    assert app.registry.resolve("fetch").func is fetch


def test_custom_name_and_options_are_recorded() -> None:
    app = Flowrra()

    @app.task(name="mail.send", max_retries=5, retry_delay=2.5, priority=7, queue="mail", timeout=3)
    async def send() -> None: ...

    spec = app.registry.get("mail.send")
    assert (spec.max_retries, spec.retry_delay, spec.priority, spec.queue, spec.timeout) == (
        5,
        2.5,
        7,
        "mail",
        3.0,
    )
    assert spec.describe()["executor"] == "io"


def test_async_function_registered_cpu_bound_is_refused_with_the_fix() -> None:
    app = Flowrra()
    with pytest.raises(TypeError, match=r"async function.*drop cpu_bound=True"):

        @app.task(cpu_bound=True)
        async def crunch() -> None: ...


def test_sync_function_registered_as_io_task_is_refused_with_the_fix() -> None:
    app = Flowrra()
    with pytest.raises(TypeError, match=r"must be 'async def'.*cpu_bound=True"):

        @app.task()
        def blocking() -> None: ...


def test_lambda_and_nested_functions_cannot_be_cpu_tasks() -> None:
    app = Flowrra()
    with pytest.raises(TypeError, match="must be defined at module level"):
        app.task(name="square", cpu_bound=True)(lambda x: x * x)

    def nested() -> None: ...

    with pytest.raises(TypeError, match="must be defined at module level"):
        app.task(cpu_bound=True)(nested)


def test_relaxed_registry_accepts_nested_cpu_functions() -> None:
    registry = TaskRegistry(strict_cpu_checks=False)

    def nested() -> int:
        return 1

    registry.task(cpu_bound=True)(nested)
    assert registry.get("nested").cpu_bound


def test_two_functions_cannot_share_a_name() -> None:
    app = Flowrra()

    @app.task(name="job")
    async def first() -> None: ...

    with pytest.raises(ValueError, match="already used by"):

        @app.task(name="job")
        async def second() -> None: ...


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"priority": 10}, "priority must be a whole number from 0 to 9"),
        ({"priority": -1}, "priority must be a whole number from 0 to 9"),
        ({"max_retries": -1}, "max_retries must be a whole number >= 0"),
        ({"retry_delay": -0.5}, "retry_delay must be a number of seconds >= 0"),
        ({"queue": "has space"}, "queue must be 1-100 characters"),
        ({"timeout": 0}, "timeout must be a number of seconds > 0"),
    ],
)
def test_out_of_range_options_are_refused(options: dict, message: str) -> None:
    app = Flowrra()
    with pytest.raises(ValueError, match=message):
        app.task(**options)


def test_unknown_option_is_a_type_error_listing_the_allowed_ones() -> None:
    allowed = r"allowed: ignore_result, max_retries"
    with pytest.raises(TypeError, match=r"unknown task option.*retries.*" + allowed):
        Flowrra().task(retries=3)


def test_unregistered_function_or_name_raises_task_not_found_listing_known_tasks() -> None:
    with pytest.raises(TaskNotFoundError, match=r"'nope' is not registered.*whoami"):
        tasks.cpu_app.registry.resolve("nope")
    with pytest.raises(TaskNotFoundError, match="not_registered"):
        tasks.cpu_app.registry.resolve(tasks.not_registered)


def test_a_finder_supplies_a_task_that_is_not_registered_yet() -> None:
    registry = TaskRegistry()

    async def report() -> str:
        return "done"

    asked: list[str] = []

    def finder(name: str) -> TaskSpec | None:
        asked.append(name)
        return TaskSpec(name, report) if name == "app.report" else None

    registry.add_finder(finder)
    registry.add_finder(finder)  # once is enough
    assert registry.get("app.report").func is report
    assert registry.get("app.report").func is report  # registered: not asked again
    with pytest.raises(TaskNotFoundError, match=r"app\.missing"):
        registry.get("app.missing")
    assert asked == ["app.report", "app.missing"]


def test_declared_queues_are_consumed_by_default_and_checked() -> None:
    registry = TaskRegistry()
    registry.declare_queues(iter(["reports", "mail"]))
    assert registry.queues() == {"reports", "mail"}
    with pytest.raises(ValueError, match="queue must be"):
        registry.declare_queues(["no spaces"])
