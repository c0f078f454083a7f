"""What every API view shares: who is asking (session or bearer token), what they may do,
the JSON body (size-limited), and errors as JSON with the right status, never a page."""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from flowrra.exceptions import FlowrraError
from flowrra.ui.api_requests import ApiProblem

from ... import dashboard
from ...conf import flowrra_settings

T = TypeVar("T")
logger = logging.getLogger("flowrra.api")
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


class ApiEncoder(DjangoJSONEncoder):
    """Datetimes as ISO 8601; a value JSON cannot hold (a result of an odd type) as its repr."""

    def default(self, o: Any) -> Any:
        try:
            return super().default(o)
        except TypeError:
            return repr(o)


class ApiError(Exception):
    """An answer other than success: ``status``, a message and, for a 400, field errors."""

    def __init__(
        self, status: int, message: str, fields: dict[str, str] | None = None, **headers: str
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = fields
        self.headers = headers

    def response(self) -> JsonResponse:
        body: dict[str, Any] = {"error": self.message, "status": self.status}
        if self.fields:
            body["fields"] = self.fields
        response = JsonResponse(body, status=self.status)
        for name, value in self.headers.items():
            response[name.replace("_", "-")] = value
        return response


def json_response(data: Any, status: int = 200) -> JsonResponse:
    return JsonResponse(data, status=status, encoder=ApiEncoder, safe=False)


def token_user(request: HttpRequest) -> Any | None:
    """The user of the request's bearer token; None without an Authorization header;
    ``ApiError(401)`` for a token that is not configured (compared in constant time)."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("Send 'Authorization: Bearer <token>'.")
    given = token.strip().encode()
    username = None
    for known, user in flowrra_settings()["API_TOKENS"].items():
        if hmac.compare_digest(known.encode(), given):
            username = user
    if username is None:
        raise _unauthorized("This token is not valid.")
    model = get_user_model()
    try:
        user = model._default_manager.get_by_natural_key(username)
    except model.DoesNotExist:
        raise _unauthorized("This token's user does not exist.") from None
    if not user.is_active:
        raise _unauthorized("This token's user is not active.")
    return user


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, message, WWW_Authenticate='Bearer realm="flowrra"')


def _csrf_refusal(request: HttpRequest) -> str | None:
    # Django's CSRF check as its middleware runs it, for a view that is not exempt
    refused = CsrfViewMiddleware(_no_view).process_view(request, _no_view, (), {})
    if refused is None:
        return None
    return "CSRF verification failed: send the csrftoken cookie's value in X-CSRFToken."


def _no_view(request: HttpRequest) -> HttpResponse:
    raise AssertionError("the CSRF check never calls its view")


def check_staff(user: Any) -> None:
    """``ApiError(403)`` unless ``user`` is active staff with ``DASHBOARD_PERMISSION``."""
    if not (user.is_active and user.is_staff):
        raise ApiError(403, "The Flowrra API is for staff users.")
    required = flowrra_settings()["DASHBOARD_PERMISSION"]
    if required and not user.has_perm(required):
        raise ApiError(403, f"The Flowrra API needs the {required} permission.")


def authenticate(request: HttpRequest) -> Any:
    """The staff user behind the request: its bearer token's, or its session's (whose
    writes must pass the CSRF check). ``ApiError`` 401 or 403 otherwise."""
    user = token_user(request)
    if user is None:
        user = request.user
        if not user.is_authenticated:
            raise _unauthorized("Log in, or send 'Authorization: Bearer <token>'.")
        if request.method not in _SAFE:
            problem = _csrf_refusal(request)
            if problem:
                raise ApiError(403, problem)
    request.user = user
    check_staff(user)
    return user


@method_decorator(csrf_exempt, name="dispatch")
class ApiView(View):
    """A JSON endpoint. ``permissions`` maps an HTTP method to the permission it needs
    beyond staff; subclasses implement ``get``/``post``/... and return data or raise
    :class:`ApiError`."""

    permissions: dict[str, str] = {}

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            user = authenticate(request)
            if request.method is None or request.method.lower() not in self.allowed():
                raise ApiError(
                    405,
                    f"{request.method} is not allowed here.",
                    Allow=", ".join(self.allowed_methods()),
                )
            needed = self.permissions.get(request.method, "")
            if needed and not user.has_perm(needed):
                raise ApiError(403, f"This needs the {needed} permission.")
            return super().dispatch(request, *args, **kwargs)
        except ApiError as exc:
            return exc.response()
        except ApiProblem as exc:
            return ApiError(exc.status, exc.message, exc.fields).response()
        except Http404 as exc:
            return ApiError(404, str(exc) or "Not found.").response()
        except PermissionDenied as exc:
            return ApiError(403, str(exc) or "Forbidden.").response()
        except (FlowrraError, OSError, ConnectionError, DatabaseError) as exc:
            logger.warning("API %s %s: %s", request.method, request.path, exc)
            return ApiError(
                503, "The database, broker or result backend did not answer."
            ).response()

    def allowed(self) -> list[str]:
        return [m for m in self.http_method_names if hasattr(self, m)]

    def allowed_methods(self) -> list[str]:
        return [m.upper() for m in self.allowed()]

    def services(self, use: Callable[[dashboard.Services], Awaitable[T]]) -> T:
        return dashboard.call(use)

    def body(self) -> Any:
        """The request's JSON body (``{}`` when empty): 413 over ``API_MAX_BODY``, 400 if
        it is not JSON."""
        limit = flowrra_settings()["API_MAX_BODY"]
        too_big = ApiError(413, f"The body is larger than {limit} bytes.")
        try:
            if int(self.request.META.get("CONTENT_LENGTH") or 0) > limit:
                raise too_big
        except ValueError:
            raise ApiError(400, "Content-Length is not a number.") from None
        try:
            raw = self.request.body
        except RequestDataTooBig:
            raise too_big from None
        if len(raw) > limit:
            raise too_big
        if not raw.strip():
            return {}
        try:
            return json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise ApiError(400, "The body is not JSON.", {"body": str(exc)[:200]}) from None

    def object_body(self) -> dict[str, Any]:
        data = self.body()
        if not isinstance(data, dict):
            raise ApiError(400, "Send a JSON object.", {"body": "a JSON object"})
        return data


def not_found(what: str) -> ApiError:
    return ApiError(404, f"No {what} with this id.")
