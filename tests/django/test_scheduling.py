"""The django:// schedule store under the core Scheduler, on a manual clock: rows made in
the admin or the Python API, admin edits without a restart, downtime, bad input."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import re
from collections.abc import AsyncIterator, Iterator

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from flowrra import BackendConfig, BrokerConfig, Config, Flowrra
from flowrra.scheduler import ManualClock, Scheduler
from flowrra.scheduler.submission import occurrence_id
from flowrra_django import runtime
from flowrra_django.models import ScheduledTask, TaskResult
from flowrra_django.schedule_store import DjangoSchedulerBackend, to_task
from tests.core.redis.conftest import new_space, redis_missing
from tests.django.test_admin import schedule_form
from tests.services import unavailable

pytestmark = pytest.mark.django_db(transaction=True)

UTC = dt.UTC
START = dt.datetime(2025, 6, 2, 12, 0, tzinfo=UTC)


class Beat:
    """A scheduler on the ORM store and a manual clock; ``fired`` lists what it submitted."""

    def __init__(self) -> None:
        self.clock = ManualClock(START)
        self.fired: list[tuple[dt.datetime, str, tuple, dict]] = []
        self.scheduler = Scheduler(
            DjangoSchedulerBackend(), registry=runtime.get_app().registry, clock=self.clock
        )
        self.scheduler.set_submit_callback(self._record)

    async def _record(self, name: str, *args: object, **kwargs: object) -> str:
        self.fired.append((self.clock.now(), name, args, kwargs))
        return f"task-{len(self.fired)}"

    def run(self, coroutine: object) -> object:
        return asyncio.run(coroutine)  # type: ignore[arg-type]

    def at(self, moment: dt.datetime) -> list[str]:
        """Move the clock to ``moment`` and run one pass; the ids of the schedules fired."""
        seconds = (moment - self.clock.now()).total_seconds()
        self.run(self.clock.advance(seconds))
        return self.run(self.scheduler.run_pending())  # type: ignore[return-value]


@pytest.fixture
def beat() -> Iterator[Beat]:
    made = Beat()
    yield made
    made.run(made.scheduler.store.close())


def test_the_python_api_stores_rows_and_fires_them(beat: Beat) -> None:
    schedule_id = beat.run(
        beat.scheduler.schedule_cron("add", "*/5 * * * *", args=[2, 3], timezone="Europe/Berlin")
    )
    row = ScheduledTask.objects.get(pk=schedule_id)
    assert (row.task_name, row.schedule, row.timezone, row.args) == (
        "tests.django.testapp.tasks.add",
        "*/5 * * * *",
        "Europe/Berlin",
        [2, 3],
    )
    assert (row.queue, row.max_retries) == ("", None)  # empty: the task's own, at each run
    assert row.next_run_at == START + dt.timedelta(minutes=5)

    assert beat.at(START + dt.timedelta(minutes=4)) == []
    assert beat.at(START + dt.timedelta(minutes=5)) == [schedule_id]
    assert beat.fired == [
        (START + dt.timedelta(minutes=5), "tests.django.testapp.tasks.add", (2, 3), {})
    ]
    row.refresh_from_db()
    assert row.total_run_count == 1
    assert row.last_run_at == START + dt.timedelta(minutes=5)
    assert row.next_run_at == START + dt.timedelta(minutes=10)


def test_a_schedule_saved_in_the_admin_is_planned_then_fired(
    beat: Beat, admin_client: Client
) -> None:
    add = reverse("admin:flowrra_django_scheduledtask_add")
    assert admin_client.post(add, schedule_form(schedule="0 13 * * *")).status_code == 302
    assert beat.at(START) == []  # planned from its definition, in settings.TIME_ZONE (UTC)
    assert ScheduledTask.objects.get().next_run_at == START + dt.timedelta(hours=1)
    assert beat.at(START + dt.timedelta(hours=1)) != []
    assert [(name, args) for _, name, args, _ in beat.fired] == [
        ("tests.django.testapp.tasks.add", (1, 2))
    ]


def test_admin_edits_take_effect_without_a_restart(beat: Beat, admin_client: Client) -> None:
    row = ScheduledTask.objects.create(
        name="sums", task_name="add", schedule_type="cron", schedule="30 2 * * *", args=[1, 2]
    )
    beat.at(START)
    row.refresh_from_db()
    assert row.next_run_at == dt.datetime(2025, 6, 3, 2, 30, tzinfo=UTC)

    change = reverse("admin:flowrra_django_scheduledtask_change", args=[row.pk])
    assert admin_client.post(change, schedule_form(schedule="*/10 * * * *")).status_code == 302
    assert beat.at(START + dt.timedelta(minutes=1)) == []  # re-planned from the new cron
    assert beat.at(START + dt.timedelta(minutes=10)) == [str(row.pk)]

    changelist = reverse("admin:flowrra_django_scheduledtask_changelist")
    admin_client.post(changelist, {"action": "disable_selected", "_selected_action": [row.pk]})
    assert beat.at(START + dt.timedelta(minutes=20)) == []
    admin_client.post(changelist, {"action": "enable_selected", "_selected_action": [row.pk]})
    assert beat.at(START + dt.timedelta(minutes=21)) == []
    assert beat.at(START + dt.timedelta(minutes=30)) == [str(row.pk)]

    row.delete()
    assert beat.at(START + dt.timedelta(minutes=40)) == []
    assert len(beat.fired) == 2


def test_a_blank_timezone_is_settings_time_zone(beat: Beat, settings: object) -> None:
    settings.TIME_ZONE = "Europe/Berlin"  # type: ignore[attr-defined]
    row = ScheduledTask.objects.create(
        name="berlin", task_name="add", schedule_type="cron", schedule="0 9 * * *", args=[1, 1]
    )
    beat.at(START)
    row.refresh_from_db()
    assert row.next_run_at == dt.datetime(2025, 6, 3, 7, 0, tzinfo=UTC)  # 09:00 CEST


@pytest.mark.parametrize(("policy", "fires"), [("run_once", 1), ("skip", 0)])
def test_after_downtime_a_missed_schedule_fires_at_most_once(
    beat: Beat, policy: str, fires: int
) -> None:
    row = ScheduledTask.objects.create(
        name="minutely", task_name="add", schedule_type="interval", schedule="60",
        args=[0, 0], missed_policy=policy, next_run_at=START - dt.timedelta(hours=5),
    )  # fmt: skip
    beat.at(START)
    assert len(beat.fired) == fires
    row.refresh_from_db()
    assert row.next_run_at == START + dt.timedelta(minutes=1)
    assert row.total_run_count == fires


def test_a_one_off_runs_once_and_is_disabled(beat: Beat) -> None:
    beat.run(beat.scheduler.schedule_once("add", START + dt.timedelta(minutes=1), args=[4, 4]))
    beat.at(START + dt.timedelta(minutes=1))
    beat.at(START + dt.timedelta(days=1))
    assert len(beat.fired) == 1
    row = ScheduledTask.objects.get()
    assert (row.enabled, row.next_run_at, row.total_run_count) == (False, None, 1)


def test_a_row_that_became_invalid_is_disabled_and_others_still_fire(beat: Beat) -> None:
    ScheduledTask.objects.create(
        name="broken", task_name="add", schedule_type="cron", schedule="61 * * * *",
        next_run_at=START,
    )  # fmt: skip
    ScheduledTask.objects.create(
        name="fine", task_name="add", schedule_type="interval", schedule="60", args=[1, 1],
        next_run_at=START,
    )  # fmt: skip
    beat.at(START)
    assert [args for _, _, args, _ in beat.fired] == [(1, 1)]
    assert not ScheduledTask.objects.get(name="broken").enabled


@pytest.mark.parametrize(
    ("method", "arguments", "error"),
    [
        ("schedule_cron", ("add", "61 * * * *"), ValueError),
        ("schedule_cron", ("add", "* * *"), ValueError),
        ("schedule_interval", ("add", 0), ValueError),
        ("schedule_interval", ("nope", 10), ValueError),
        ("schedule_interval", ("add", 10, [object()]), TypeError),
    ],
)
def test_the_python_api_rejects_bad_input_and_saves_nothing(
    beat: Beat, method: str, arguments: tuple, error: type[Exception]
) -> None:
    with pytest.raises(error):
        beat.run(getattr(beat.scheduler, method)(*arguments))
    assert not ScheduledTask.objects.exists()


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--interval", "0", "expected a number of seconds > 0, got '0'"),
        ("--misfire-grace", "-1", "expected a number of seconds >= 0, got '-1'"),
    ],
)
def test_flowrra_beat_rejects_bad_options(option: str, value: str, message: str) -> None:
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("flowrra_beat", option, value)


class PassCutOff(Exception):
    """What cuts the pass off between its submissions and its commit in the test below."""


class CutOffBeforeCommit(DjangoSchedulerBackend):
    """The ORM store, with each pass cut off once its tasks are submitted."""

    @contextlib.asynccontextmanager
    async def firing(self, app: Flowrra | None) -> AsyncIterator[bool]:
        async with super().firing(app) as held:
            yield held
            raise PassCutOff


@pytest.mark.redis
def test_on_redis_a_pass_cut_off_before_its_commit_is_fired_again_under_one_task_id() -> None:
    """With another broker than django://, the claims commit after the submissions: the
    occurrence stays due, and the next pass submits the same task id again."""
    missing = redis_missing()
    if missing:
        unavailable(missing, "start Redis or set FLOWRRA_TEST_REDIS_URL")
    space = new_space()
    app = Flowrra(Config(broker=BrokerConfig(url=space.url), backend=BackendConfig("django://")))
    for spec in runtime.get_app().registry:
        app.registry.register(spec)
    row = ScheduledTask.objects.create(
        name="nightly",
        task_name="tests.django.testapp.tasks.add",
        schedule_type="once",
        schedule=(timezone.now() - dt.timedelta(seconds=1)).isoformat(),
        args=[1, 2],
    )
    row.next_run_at = timezone.now() - dt.timedelta(seconds=1)
    row.save()
    task_id = occurrence_id(to_task(ScheduledTask.objects.get(pk=row.pk)))

    async def fire() -> list[str]:
        await app.start(worker=False)
        try:
            cut_off, store = CutOffBeforeCommit(), DjangoSchedulerBackend()
            with pytest.raises(PassCutOff):
                await Scheduler(cut_off, app=app).run_pending()
            await cut_off.close()
            assert await runs_of(row) == 0
            assert await Scheduler(store, app=app).run_pending() == [str(row.pk)]
            await store.close()
            deliveries = await app.broker.fetch(["default"], 10, timeout=1)
            return [delivery.task.id for delivery in deliveries]
        finally:
            await app.stop()

    try:
        submitted = asyncio.run(fire())
    finally:
        space.clean()
        space.client.close()
    assert submitted == [task_id, task_id]
    row.refresh_from_db()
    assert (row.total_run_count, row.enabled) == (1, False)
    assert list(TaskResult.objects.values_list("task_id", flat=True)) == [task_id]


async def runs_of(row: ScheduledTask) -> int:
    refreshed = await ScheduledTask.objects.aget(pk=row.pk)
    return refreshed.total_run_count
