"""Every relative link between docs (and from the README) resolves: the file exists and so does the anchor."""

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCS = sorted((REPO / "docs").glob("*.md"))
SOURCES = DOCS + [REPO / "README.md", REPO / "contrib" / "example_plugin" / "README.md"]
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^(```|~~~)")


def _prose(path: Path) -> str:
    """The text outside fenced code blocks (links in code are examples, not links)."""
    lines, fenced = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line.strip()):
            fenced = not fenced
            continue
        if not fenced:
            lines.append(re.sub(r"`[^`]*`", "", line))
    return "\n".join(lines)


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes."""
    text = re.sub(r"`|\*|_(?=\W)|(?<=\W)_", "", heading.strip().lower())
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found, counts = set(), {}
    fenced = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line.strip()):
            fenced = not fenced
            continue
        match = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if match and not fenced:
            slug = _slug(match.group(1))
            n = counts.get(slug, 0)
            counts[slug] = n + 1
            found.add(slug if n == 0 else f"{slug}-{n}")
    return found


def relative_links(path: Path) -> list[str]:
    links = []
    for target in LINK.findall(_prose(path)):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("//"):
            continue  # http:, https:, mailto: ...
        links.append(target)
    return links


def test_the_docs_exist():
    names = {path.name for path in DOCS}
    assert {"quickstart.md", "configuration.md", "operations.md", "writing-plugins.md", "storage-backends.md",
            "migrating-from-devpi.md", "hooks.md", "rest-api.md"} <= names


@pytest.mark.parametrize("path", SOURCES, ids=[str(p.relative_to(REPO)) for p in SOURCES])
def test_relative_links_resolve(path):
    broken = []
    for link in relative_links(path):
        target, _, fragment = link.partition("#")
        resolved = (path.parent / unquote(target)).resolve() if target else path
        if not resolved.exists():
            broken.append(f"{link} (no {resolved.relative_to(REPO) if resolved.is_relative_to(REPO) else resolved})")
            continue
        if fragment and resolved.suffix == ".md" and fragment not in anchors(resolved):
            broken.append(f"{link} (no heading #{fragment} in {resolved.name})")
    assert not broken, f"broken links in {path.relative_to(REPO)}: {broken}"


def test_anchor_slugs_follow_github():
    assert _slug("Deploying behind nginx") == "deploying-behind-nginx"
    assert _slug("`POST /+login`") == "post-login"
    assert _slug("Users `/U`") == "users-u"
    assert _slug("satchel_add_options") == "satchel_add_options"
