"""The reference pages of docs/ name everything the code offers: each ``FLOWRRA`` key with
its default, each system check id, and each option of each command."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest
from django.core.management import load_command_class
from django.core.management.base import BaseCommand

from flowrra.cli import build_parser
from flowrra_django import checks, conf

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _options(parser: argparse.ArgumentParser) -> set[str]:
    return {option for action in parser._actions for option in action.option_strings}


def _mentions(text: str, option: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", text) is not None


def test_every_setting_is_in_the_reference_with_its_default() -> None:
    text = (DOCS / "settings.md").read_text().split("## Reference", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| `([A-Z_]+)` \| `([^`]*)` \|", text, re.MULTILINE))
    assert set(rows) == set(conf.DEFAULTS)
    assert rows == {
        key: repr(value) if not isinstance(value, str) else f'"{value}"'
        for key, value in conf.DEFAULTS.items()
    }


def test_every_check_id_is_explained() -> None:
    package = Path(checks.__file__).parent
    source = "".join(path.read_text() for path in sorted(package.rglob("*.py")))
    ids = set(re.findall(r"flowrra\.[EW]\d{3}", source))
    text = (DOCS / "settings.md").read_text()
    documented = set(re.findall(r"^\| `(flowrra\.[EW]\d{3})` \|", text, re.MULTILINE))
    assert ids and documented == ids


@pytest.mark.parametrize("name", ["flowrra_worker", "flowrra_beat", "flowrra_cleanup"])
def test_every_option_of_the_management_commands_is_documented(name: str) -> None:
    text = (DOCS / "commands.md").read_text()
    django_own = _options(BaseCommand().create_parser("manage.py", "base"))
    command = load_command_class("flowrra_django", name)
    own = _options(command.create_parser("manage.py", name)) - django_own
    section = text.split(f"## manage.py {name}", 1)[1].split("\n## ", 1)[0]
    assert own and [option for option in sorted(own) if not _mentions(section, option)] == []


def test_every_option_of_the_standalone_worker_is_documented() -> None:
    parser = build_parser()
    (subparsers,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    options = _options(subparsers.choices["worker"]) - {"-h", "--help"}
    text = (DOCS / "redis.md").read_text() + (DOCS / "commands.md").read_text()
    assert options and [option for option in sorted(options) if not _mentions(text, option)] == []
