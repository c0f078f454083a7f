"""Checks a response of the API against the OpenAPI document it serves."""

from __future__ import annotations

import json
from typing import Any

import jsonschema

from flowrra.ui.openapi import document

DOCUMENT = document()


def conforms(response: Any, template: str, method: str) -> Any:
    """Assert that ``response`` (to ``method`` on path ``template``, such as
    ``/tasks/{task_id}/``) is JSON, has a status the document lists for the operation,
    and matches that status's schema; return the decoded body."""
    operation = DOCUMENT["paths"][template][method.lower()]
    status = str(response.status_code)
    assert status in operation["responses"], (
        f"{method} {template} answered {status}, which the document does not list: "
        f"{response.content[:300]!r}"
    )
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = json.loads(response.content)
    schema = operation["responses"][status]["content"]["application/json"]["schema"]
    jsonschema.validate(body, {**schema, "components": DOCUMENT["components"]})
    return body
