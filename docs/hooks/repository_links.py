"""MkDocs hook: a link from a page to a file of the repository outside docs/ (a test, a
module) works when the Markdown is read in the repository or the source distribution, but
the site does not carry that file. Such links become the file's path in code; a link to a
file that does not exist is left alone, so that ``mkdocs build --strict`` reports it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

_LINK = re.compile(r"\[([^\]]+)\]\((\.\./[^)\s#]+)(#[^)\s]*)?\)")


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """Replace ``[text](../path)`` to an existing file outside docs/ by ``text`` (``path``)."""
    docs = Path(config["docs_dir"]).resolve()
    root = docs.parent
    here = (docs / page.file.src_path).parent

    def replace(match: re.Match[str]) -> str:
        text, target = match.group(1), match.group(2)
        path = (here / target).resolve()
        if docs in path.parents or root not in path.parents or not path.exists():
            return match.group(0)
        shown = path.relative_to(root).as_posix()
        return text if text.strip("`") == shown else f"{text} (`{shown}`)"

    return _LINK.sub(replace, markdown)
