"""Schedules: list, create, read, replace (PUT), change (PATCH), delete, enable, disable
and run now."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse

from flowrra.ui.api_requests import (
    create_schedule,
    save_schedule,
    schedule_action,
    schedule_definition,
)

from .base import ApiView, json_response, not_found

_ADD = "flowrra_django.add_scheduledtask"
_CHANGE = "flowrra_django.change_scheduledtask"
_DELETE = "flowrra_django.delete_scheduledtask"


class ScheduleListApi(ApiView):
    permissions = {"POST": _ADD}

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        data = self.services(lambda s: s.schedules.list_schedules())
        return json_response({"schedules": data})

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        definition = schedule_definition(self.object_body())
        created = self.services(lambda s: create_schedule(s.schedules, definition))
        return json_response(created, status=201)


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
        return self._save(schedule_id, schedule_definition(self.object_body()), merge=False)

    def patch(
        self, request: HttpRequest, *args: Any, schedule_id: str, **kwargs: Any
    ) -> JsonResponse:
        return self._save(schedule_id, schedule_definition(self.object_body()), merge=True)

    def _save(self, schedule_id: str, definition: dict[str, Any], *, merge: bool) -> JsonResponse:
        saved = self.services(
            lambda s: save_schedule(s.schedules, schedule_id, definition, merge=merge)
        )
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
        done = self.services(lambda s: schedule_action(s.schedules, schedule_id, self.action))
        if done is None:
            raise not_found("schedule")
        return json_response(done[1], status=done[0])
