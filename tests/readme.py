"""The README's code blocks, for the tests that run them as written."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
_BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def code_blocks(language: str = "python") -> list[str]:
    """Every fenced block of ``language`` in README.md, in order."""
    return [code for lang, code in _BLOCK.findall(README.read_text()) if lang == language]


def block_starting(first_line: str) -> str:
    """The one Python block whose first line is ``first_line`` (a comment naming it)."""
    found = [code for code in code_blocks() if code.splitlines()[0] == first_line]
    assert len(found) == 1, f"README.md has {len(found)} Python blocks starting {first_line!r}"
    return found[0]
