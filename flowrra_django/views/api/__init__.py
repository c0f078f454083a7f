"""The JSON API under ``/flowrra/api/``: class-based views over the dashboard's services,
authenticated by the session (CSRF on writes) or a bearer token from
``FLOWRRA["API_TOKENS"]``, with the dashboard's permissions."""
