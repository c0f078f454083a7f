"""Reads the Lua scripts that run on Redis, shipped as files in a ``lua/`` folder beside the
module that runs them. Each folder's ``prelude.lua`` (shared helpers) goes in front of every
script of the folder; nothing is substituted into the text: settings travel as arguments."""

from __future__ import annotations

from collections.abc import Iterable
from importlib.resources import files


def read_scripts(package: str, names: Iterable[str]) -> dict[str, str]:
    """Script name -> its source (``prelude.lua`` and ``<name>.lua`` of ``package``'s
    ``lua/`` folder)."""
    folder = files(package) / "lua"
    prelude = (folder / "prelude.lua").read_text(encoding="utf-8")
    return {name: prelude + (folder / f"{name}.lua").read_text(encoding="utf-8") for name in names}
