"""ScheduleService: validation that names fields, create, edit, toggle, delete, run now,
and the preview of the next run times in the schedule's zone."""

from __future__ import annotations

import datetime as dt

import pytest

from flowrra import Flowrra
from flowrra.management import FlowrraManager
from flowrra.scheduler.backends.memory import MemorySchedulerBackend
from flowrra.ui import ScheduleService, ScheduleValidationError, preview_runs
from flowrra.ui.schedule_definition import preview

NOON = dt.datetime(2030, 6, 1, 12, 0, 30, tzinfo=dt.UTC)


@pytest.fixture
async def service(app: Flowrra) -> ScheduleService:
    @app.task()
    async def report(kind: str = "daily") -> str:
        return kind

    app.create_scheduler(MemorySchedulerBackend(), check_interval=3600)
    await app.start()
    return ScheduleService(FlowrraManager(app))


def form(**values: str) -> dict[str, str]:
    data = {
        "task_name": "report",
        "schedule_type": "cron",
        "schedule": "0 9 * * *",
        "timezone": "Europe/Berlin",
        "args": "[]",
        "kwargs": "{}",
        "enabled": "1",
    }
    data.update(values)
    return data


async def test_every_wrong_field_is_named(service: ScheduleService) -> None:
    with pytest.raises(ScheduleValidationError) as caught:
        await service.create_schedule(
            form(
                task_name="nope",
                schedule="61 * * * *",
                timezone="Mars/Olympus",
                args='{"a": 1}',
                kwargs="[1",
                priority="12",
                max_retries="x",
                missed_policy="sometimes",
            )
        )
    errors = caught.value.errors
    assert set(errors) == {
        "task_name",
        "timezone",
        "args",
        "kwargs",
        "priority",
        "max_retries",
        "missed_policy",
    } | ({"schedule"} if "schedule" in errors else set())
    assert "report" in errors["task_name"]
    assert "JSON list" in errors["args"]
    with pytest.raises(ScheduleValidationError) as caught:
        await service.create_schedule(form(schedule="61 * * * *"))
    assert set(caught.value.errors) == {"schedule"}
    with pytest.raises(ScheduleValidationError) as caught:
        await service.create_schedule(form(schedule_type="interval", schedule="-5"))
    assert set(caught.value.errors) == {"schedule"}
    with pytest.raises(ScheduleValidationError) as caught:
        await service.create_schedule(form(schedule_type="once", schedule="2001-01-01T09:00"))
    assert "future" in caught.value.errors["schedule"]


async def test_create_edit_toggle_run_and_delete(service: ScheduleService, app: Flowrra) -> None:
    cron = await service.create_schedule(form(name="morning", kwargs='{"kind": "am"}'))
    interval = await service.create_schedule(
        form(name="often", schedule_type="interval", schedule="90", queue="reports")
    )
    once = await service.create_schedule(
        form(name="launch", schedule_type="once", schedule="2040-01-31T09:00")
    )
    by_name = {s["name"]: s for s in await service.list_schedules()}
    assert by_name["morning"]["timezone"] == "Europe/Berlin"
    assert by_name["often"]["schedule"] == "90" and by_name["often"]["queue"] == "reports"
    assert by_name["launch"]["schedule"] == "2040-01-31T08:00:00+00:00"  # 09:00 in Berlin
    with pytest.raises(ScheduleValidationError) as caught:
        await service.create_schedule(form(name="morning"))
    assert set(caught.value.errors) == {"name"}

    edit = form(name="morning", schedule="30 7 * * 1-5", kwargs='{"kind": "am"}')
    assert await service.update_schedule(cron, edit)
    edited = await service.get_schedule(cron)
    assert edited is not None and edited["schedule"] == "30 7 * * 1-5"
    assert await service.update_schedule("missing", form()) is False

    await service.disable_schedule(interval)
    assert (await service.get_schedule(interval))["enabled"] is False  # type: ignore[index]
    assert interval not in {s["id"] for s in await service.list_schedules(enabled_only=True)}
    await service.enable_schedule(interval)
    assert (await service.get_schedule(interval))["next_run_at"]  # type: ignore[index]

    task_id = await service.run_now(cron)
    assert task_id is not None
    result = await app.wait_for_result(task_id, timeout=5)
    assert result.result == "am"
    assert await service.run_now("missing") is None

    assert await service.delete_schedule(once) == {"success": True}
    assert await service.delete_schedule(once) == {"success": False}
    with pytest.raises(ValueError, match="no schedule"):
        await service.enable_schedule(once)


def test_the_preview_lists_the_next_runs_in_the_schedules_zone() -> None:
    runs = preview_runs("cron", "0 9 * * *", "America/New_York", now=NOON)
    assert [r.isoformat() for r in runs[:2]] == [
        "2030-06-01T09:00:00-04:00",  # noon UTC is 08:00 in New York
        "2030-06-02T09:00:00-04:00",
    ]
    assert len(runs) == 5
    steps = preview_runs("interval", "90", "UTC", now=NOON)
    assert steps[1] - steps[0] == dt.timedelta(seconds=90)
    assert preview_runs("once", "2030-06-01T11:00", "UTC", now=NOON) == []
    assert preview({"schedule_type": "cron", "schedule": "nonsense"}, now=NOON)[1]
    assert preview({"schedule_type": "bogus", "schedule": "1"}, now=NOON)[1]
