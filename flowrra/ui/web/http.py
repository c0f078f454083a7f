"""The framework-neutral request and response, and who may use the dashboard."""

from __future__ import annotations

import hmac
import inspect
import json
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ..serialize import json_default

#: ``authorize(request) -> bool`` (or an awaitable of it), given the framework's request.
Authorize = Callable[[Any], Any]
#: Websocket close codes, as the Django consumer's: no access granted; access refused.
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def cross_site(headers: Mapping[str, str]) -> bool:
    """Whether a browser sent this request from a page of another site: its
    ``Sec-Fetch-Site``, or its ``Origin`` against the ``Host`` it was sent to. The hook
    decides by cookies, which a browser sends along with another site's requests too, so
    writes and websockets must come from the dashboard's own pages."""
    lower = {key.lower(): value for key, value in headers.items()}
    if lower.get("sec-fetch-site", "") in ("cross-site", "same-site"):
        return True
    origin = lower.get("origin", "")
    if not origin:
        return False
    host = lower.get("x-forwarded-host") or lower.get("host", "")
    return origin == "null" or urlsplit(origin).netloc != host.split(",")[0].strip()


@dataclass(slots=True)
class Request:
    """One request to the dashboard. ``path`` is inside the dashboard (``""`` for the
    overview, ``"tasks/<id>/"``); ``base`` is where the dashboard is mounted, ending in
    ``/``; ``authorized`` is the adapter's ``authorize`` hook's answer (None: no hook)."""

    method: str
    path: str
    base: str
    query: Mapping[str, list[str]] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    authorized: bool | None = None

    def header(self, name: str) -> str:
        return next((v for k, v in self.headers.items() if k.lower() == name), "")


@dataclass(slots=True)
class Response:
    status: int
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, data: Any, status: int = 200, **headers: str) -> Response:
        body = json.dumps(data, default=json_default, ensure_ascii=False).encode()
        return cls(status, body, "application/json", {"Cache-Control": "no-store", **headers})


def error(
    status: int, message: str, fields: dict[str, str] | None = None, **headers: str
) -> Response:
    """The API's error body, as the Django API answers it."""
    body: dict[str, Any] = {"error": message, "status": status}
    if fields:
        body["fields"] = fields
    return Response.json(body, status, **{k.replace("_", "-"): v for k, v in headers.items()})


def check_authorize(authorize: Authorize | None, native: Any) -> Any:
    """The hook's answer for ``native`` (an awaitable when the hook is async); None without
    a hook. Adapters call it where their framework's request context is live."""
    return None if authorize is None else authorize(native)


async def authorized(authorize: Authorize | None, native: Any) -> bool | None:
    answer = check_authorize(authorize, native)
    if inspect.isawaitable(answer):
        answer = await answer
    return None if authorize is None else bool(answer)


class Access:
    """Who may use the dashboard: the adapter's ``authorize`` hook, and for the API and
    metrics also a bearer token of ``api_tokens``. With neither, everything but health is
    refused, and the refusal says how to open it (``factory`` names the adapter's call)."""

    def __init__(self, *, has_hook: bool, api_tokens: Collection[str], factory: str) -> None:
        self.has_hook = has_hook
        self.tokens = [token.encode() for token in api_tokens if token]
        self.factory = factory

    @property
    def closed_message(self) -> str:
        return (
            "The Flowrra dashboard is closed until you say who may use it: pass "
            f"{self.factory}(flowrra, authorize=lambda request: ...) a function that returns "
            "True for the requests to let in (your framework's request: check its user or "
            "session), and api_tokens=[...] to let API and metrics clients in with "
            "'Authorization: Bearer <token>'."
        )

    def refusal(self, request: Request, *, api: bool) -> Response | None:
        """None when ``request`` may go on; else the 401 or 403 to answer."""
        header = request.header("authorization")
        if api and header and self.tokens:
            scheme, _, token = header.partition(" ")
            given = token.strip().encode()
            if scheme.lower() == "bearer" and any(
                hmac.compare_digest(known, given) for known in self.tokens
            ):
                return None
            return error(401, "This token is not valid.", WWW_Authenticate='Bearer realm="flowrra"')
        if request.authorized:
            if request.method in SAFE_METHODS:
                return None
            if cross_site(request.headers):
                return error(403, "Cross-site requests may not change anything here.")
            if request.header("content-type").split(";")[0].strip() != "application/json":
                return error(403, "Send writes as 'Content-Type: application/json'.")
            return None
        if not self.has_hook and not self.tokens:
            return self._refuse(request, 403, self.closed_message, api=api)
        if request.authorized is False:
            return self._refuse(request, 403, "Not allowed: the authorize hook refused.", api=api)
        message = "Send 'Authorization: Bearer <token>'."
        if api:
            return error(401, message, WWW_Authenticate='Bearer realm="flowrra"')
        return self._refuse(request, 403, self.closed_message, api=api)

    def websocket_refusal(self, authorized: bool | None, headers: Mapping[str, str]) -> int | None:
        """None when a websocket may connect, else its close code (a page of another site
        may not open one with the user's cookies)."""
        if cross_site(headers):
            return CLOSE_FORBIDDEN
        if authorized:
            return None
        return CLOSE_FORBIDDEN if authorized is False else CLOSE_UNAUTHENTICATED

    @staticmethod
    def _refuse(request: Request, status: int, message: str, *, api: bool) -> Response:
        if api:
            return error(status, message)
        return Response(status, message.encode(), "text/plain; charset=utf-8")
