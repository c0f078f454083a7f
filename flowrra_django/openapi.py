"""The API's OpenAPI 3.1 document, served at ``/flowrra/api/openapi.json`` (it lives in
:mod:`flowrra.ui.openapi`, shared with the other frameworks' dashboards)."""

from flowrra.ui.openapi import document

__all__ = ["document"]
