"""The distributions a user installs: build the sdist, then the wheel from it (as
``python -m build`` does), and check what each carries and what each extra installs."""

from __future__ import annotations

import email
import email.message
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def _tracked(*patterns: str) -> list[str]:
    """Files of this checkout (committed or new, not ignored) matching ``patterns``."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "--", *patterns],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return sorted(name for name in listed if (ROOT / name).is_file())


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """sdist and wheel of a copy of this checkout's files (so no local build/ leaks in)."""
    base = tmp_path_factory.mktemp("package")
    source = base / "source"
    for name in _tracked("."):
        target = source / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    out = base / "dist"
    done = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def _sdist_names(dist: Path) -> set[str]:
    (sdist,) = dist.glob("flowrra-*.tar.gz")
    with tarfile.open(sdist) as archive:
        return {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}


def _wheel(dist: Path) -> zipfile.ZipFile:
    (wheel,) = dist.glob("flowrra-*.whl")
    return zipfile.ZipFile(wheel)


def _metadata(dist: Path) -> email.message.Message:
    with _wheel(dist) as wheel:
        (name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
        return email.message_from_bytes(wheel.read(name))


def test_the_sdist_carries_the_readme_changelog_license_and_docs(dist: Path) -> None:
    names = _sdist_names(dist)
    expected = {"README.md", "CHANGELOG.md", "LICENSE", "mkdocs.yml", "setup.cfg"}
    expected |= set(_tracked("docs/*.md", "docs/*.png"))
    expected |= set(_tracked("flowrra_django/templates", "flowrra_django/static", "flowrra/*.lua"))
    expected |= set(_tracked("flowrra/ui/templates"))
    assert expected - names == set()
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_the_wheel_carries_the_packages_their_data_and_the_license(dist: Path) -> None:
    with _wheel(dist) as wheel:
        names = set(wheel.namelist())
    data = _tracked(
        "flowrra_django/templates",
        "flowrra_django/static",
        "flowrra/ui/templates",
        "flowrra/py.typed",
        "flowrra/*.lua",
        "flowrra_django/py.typed",
    )
    modules = _tracked("flowrra/*.py", "flowrra_django/*.py")
    assert set(data) - names == set()
    assert set(modules) - names == set()
    assert [n for n in names if n.endswith(".dist-info/licenses/LICENSE")] or [
        n for n in names if n.endswith(".dist-info/LICENSE")
    ]
    tops = {name.split("/", 1)[0] for name in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"flowrra", "flowrra_django"}


def test_each_extra_installs_only_what_its_feature_uses(dist: Path) -> None:
    metadata = _metadata(dist)
    requires: dict[str, set[str]] = {}
    for line in metadata.get_all("Requires-Dist") or []:
        requirement, _, marker = line.partition(";")
        extra = marker.split("extra ==")[-1].strip().strip("'\"") if marker else ""
        name = requirement.split("[")[0].split(">")[0].split("=")[0].split("<")[0].strip()
        requires.setdefault(extra, set()).add(name.lower())
    assert "" not in requires  # the engine needs nothing outside the standard library
    assert requires["django"] == {"django", "croniter", "jinja2", "prometheus-client"}
    assert requires["redis"] == {"redis", "hiredis"}
    assert requires["cron"] == {"croniter"}
    assert requires["postgres"] == {"psycopg"}
    assert requires["mysql"] == {"aiomysql"}
    assert requires["channels"] == {"channels", "channels-redis", "daphne"}
    assert requires["docs"] == {"mkdocs", "mkdocs-material"}
    assert requires["django-tasks"] == {"django-tasks"}
    assert requires["ui-fastapi"] == {"fastapi", "jinja2", "prometheus-client"}
    assert requires["ui-flask"] == {"flask", "jinja2", "prometheus-client"}
    assert requires["ui-quart"] == {"quart", "jinja2", "prometheus-client"}
    assert requires["ui-django"] == requires["django"]
    assert requires["speed"] == {"orjson"}
    assert {"django-environ", "django", "channels", "django-tasks"} <= requires["example"]
    typing = {"mypy", "django-stubs", "types-channels", "types-croniter", "types-pymysql"}
    assert typing | {"types-mysqlclient", "ruff", "pytest"} <= requires["dev"]
    assert metadata["License"] == "MIT" or "MIT" in (metadata.get("License-Expression") or "")
