"""The suite runs on the database FLOWRRA_TEST_DB chose, with migrations in step."""

from __future__ import annotations

import os
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection


def test_the_chosen_database_is_the_one_in_use() -> None:
    wanted = os.environ.get("FLOWRRA_TEST_DB", "sqlite")
    assert (
        connection.vendor
        == {"sqlite": "sqlite", "postgres": "postgresql", "mysql": "mysql"}[wanted]
    )


@pytest.mark.django_db
def test_the_models_and_the_committed_migrations_agree() -> None:
    out = StringIO()
    try:
        call_command("makemigrations", "flowrra_django", check=True, dry_run=True, stdout=out)
    except SystemExit:
        pytest.fail(
            "flowrra_django's models changed without a migration; run "
            "'DJANGO_SETTINGS_MODULE=tests.django.settings python -m django makemigrations "
            f"flowrra_django' and commit it.\n{out.getvalue()}"
        )
