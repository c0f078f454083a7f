"""Schedules: list, create, read, replace (PUT), change (PATCH), delete, enable, disable
and run now."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse

from flowrra.ui import ScheduleValidationError
from flowrra.ui.schedule_definition import FIELDS, ScheduleConflict

from ... import dashboard
from .base import ApiError, ApiView, json_response, not_found

_ADD = "flowrra_django.add_scheduledtask"
_CHANGE = "flowrra_django.change_scheduledtask"
_DELETE = "flowrra_django.delete_scheduledtask"


def _definition(body: dict[str, Any]) -> dict[str, Any]:
    """The body's schedule fields (400 for any other field); ``enabled`` defaults to true."""
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        known = ", ".join(FIELDS)
        errors = {name[:50]: f"unknown; known: {known}" for name in unknown}
        raise ApiError(400, "Unknown fields.", errors)
    return body


def _saving(save: Any) -> Any:
    try:
        return dashboard.call(save)
    except ScheduleConflict as exc:
        raise ApiError(409, "The schedule was not saved.", exc.errors) from None
    except ScheduleValidationError as exc:
        raise ApiError(400, "The schedule was not saved.", exc.errors) from None


class ScheduleListApi(ApiView):
    permissions = {"POST": _ADD}

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        data = self.services(lambda s: s.schedules.list_schedules())
        return json_response({"schedules": data})

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        definition = {"enabled": True, **_definition(self.object_body())}

        async def create(services: dashboard.Services) -> dict[str, Any] | None:
            schedule_id = await services.schedules.create_schedule(definition)
            return await services.schedules.get_schedule(schedule_id)

        return json_response(_saving(create), status=201)


class ScheduleDetailApi(ApiView):
    """GET one schedule; PUT replaces its definition, PATCH changes the fields given."""

    permissions = {"PUT": _CHANGE, "PATCH": _CHANGE, "DELETE": _DELETE}

    def get(
        self, request: HttpRequest, *args: Any, schedule_id: str, **kwargs: Any
    ) -> JsonResponse:
        schedule = self.services(lambda s: s.schedules.get_schedule(schedule_id))
        if schedule is None:
            raise not_found("schedule")
        return json_response(schedule)

    def put(
        self, request: HttpRequest, *args: Any, schedule_id: str, **kwargs: Any
    ) -> JsonResponse:
        return self._save(schedule_id, _definition(self.object_body()), merge=False)

    def patch(
        self, request: HttpRequest, *args: Any, schedule_id: str, **kwargs: Any
    ) -> JsonResponse:
        return self._save(schedule_id, _definition(self.object_body()), merge=True)

    def _save(self, schedule_id: str, definition: dict[str, Any], *, merge: bool) -> JsonResponse:
        async def save(services: dashboard.Services) -> dict[str, Any] | None:
            current = await services.schedules.get_schedule(schedule_id)
            if current is None:
                return None
            base = {key: current[key] for key in FIELDS} if merge else {"enabled": True}
            data = {**base, **definition}
            await services.schedules.update_schedule(schedule_id, data)
            return await services.schedules.get_schedule(schedule_id)

        saved = _saving(save)
        if saved is None:
            raise not_found("schedule")
        return json_response(saved)

    def delete(
        self, request: HttpRequest, *args: Any, schedule_id: str, **kwargs: Any
    ) -> JsonResponse:
        deleted = self.services(lambda s: s.schedules.delete_schedule(schedule_id))
        if not deleted["success"]:
            raise not_found("schedule")
        return json_response({"id": schedule_id, "deleted": True})


class ScheduleActionApi(ApiView):
    """POST enable, disable or run (``action``): the schedule after it, or the task run."""

    action = "enable"
    permissions = {"POST": _CHANGE}

    def post(
        self, request: HttpRequest, *args: Any, schedule_id: str, **kwargs: Any
    ) -> JsonResponse:
        async def act(services: dashboard.Services) -> tuple[int, dict[str, Any]] | None:
            schedules = services.schedules
            if await schedules.get_schedule(schedule_id) is None:
                return None
            if self.action == "run":
                try:
                    task_id = await schedules.run_now(schedule_id)
                except (TypeError, ValueError) as exc:  # stored before arguments were checked
                    raise ApiError(409, f"Not run: {exc}") from None
                return 201, {"schedule_id": schedule_id, "task_id": task_id}
            try:
                if self.action == "enable":
                    await schedules.enable_schedule(schedule_id)
                else:
                    await schedules.disable_schedule(schedule_id)
            except ValueError as exc:
                raise ApiError(409, f"Not changed: {exc}.") from None
            return 200, await schedules.get_schedule(schedule_id) or {}

        done = self.services(act)
        if done is None:
            raise not_found("schedule")
        return json_response(done[1], status=done[0])
