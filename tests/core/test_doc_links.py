"""Every link of the README, the CHANGELOG and docs/ stays inside the repository and
resolves: the file exists, and so does the heading an anchor names."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

_FENCE = re.compile(r"^(```|~~~).*?^\1\s*$", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"(`+).+?\1", re.DOTALL)
_INLINE = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$", re.MULTILINE)
_AUTOLINK = re.compile(r"<([a-z][a-z0-9+.-]*:[^>\s]+)>", re.IGNORECASE)
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)


def documents() -> list[Path]:
    """The Markdown a reader follows links in: README, CHANGELOG and the docs site."""
    return [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").rglob("*.md"))]


def _prose(text: str) -> str:
    """``text`` without fenced code blocks and code spans (URLs there are examples)."""
    return _CODE_SPAN.sub("", _FENCE.sub("", text))


def link_targets(text: str) -> list[str]:
    """The targets of inline, reference and auto links of Markdown ``text``."""
    prose = _prose(text)
    return [
        m.group(1) for pattern in (_INLINE, _REFERENCE, _AUTOLINK) for m in pattern.finditer(prose)
    ]


def anchors(path: Path) -> set[str]:
    """The ids of the headings of ``path``, as MkDocs and GitHub both make them."""
    found: set[str] = set()
    for heading in _HEADING.findall(_FENCE.sub("", path.read_text())):
        text = _CODE_SPAN.sub(lambda m: m.group(0).strip("`"), heading)
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # a link's text only
        ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
        words = re.sub(r"[^\w\s-]", "", ascii_text).strip().lower()
        found.add(re.sub(r"[-\s]+", "-", words))  # MkDocs (Python-Markdown's toc)
        found.add(re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", text.strip().lower())))  # GitHub
    return found


def problems(document: Path, root: Path = ROOT) -> list[str]:
    """What is wrong with the links of ``document``: outside the repository, missing, or
    pointing at an anchor its target does not have."""
    found = []
    for target in link_targets(document.read_text()):
        if _SCHEME.match(target) or target.startswith("//"):
            found.append(f"{target}: points outside the repository")
            continue
        path_part, _, anchor = target.partition("#")
        path = (document.parent / path_part).resolve() if path_part else document
        if root.resolve() not in path.parents and path != root.resolve():
            found.append(f"{target}: leaves the repository")
        elif not path.exists():
            found.append(f"{target}: no such file")
        elif anchor and path.suffix == ".md" and anchor not in anchors(path):
            found.append(f"{target}: {path.name} has no heading #{anchor}")
    return found


@pytest.mark.parametrize("document", documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_link_resolves_inside_the_repository(document: Path) -> None:
    assert problems(document) == []


def test_the_docs_link_to_each_other() -> None:
    links = sum(len(link_targets(doc.read_text())) for doc in documents())
    assert links >= 30  # the check reads real links, not nothing


def test_broken_links_are_found(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "other.md").write_text("# Other page\n\n## Set up `it`\n")
    page = tmp_path / "docs" / "page.md"
    page.write_text(
        "# Page\n\n[ok](other.md#set-up-it) [self](#page) [code](`x`)\n"
        "[gone](missing.md) [anchor](other.md#nope) [web](https://example.com/)\n"
        "[up](../../outside.md) <https://example.org/>\n\n"
        "```\n[in code](https://ignored.example/)\n```\n\n[ref]: http://x.example/\n"
    )
    assert problems(page, root=tmp_path) == [
        "missing.md: no such file",
        "other.md#nope: other.md has no heading #nope",
        "https://example.com/: points outside the repository",
        "../../outside.md: leaves the repository",
        "http://x.example/: points outside the repository",
        "https://example.org/: points outside the repository",
    ]
