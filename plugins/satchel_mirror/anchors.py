"""Project names from a streamed HTML project list, read with regular expressions.

A full HTML parser takes seconds for PyPI's list of some 800,000 links; the list is nothing but
``<a href="...">name</a>`` lines, so the anchors are found directly, chunk by chunk.
"""

import html
import re
from collections.abc import Iterable, Iterator

_ANCHOR = re.compile(rb"<a\b([^>]*)>(.*?)</a\s*>", re.I | re.S)
_ANCHOR_START = re.compile(rb"<a[\s>]", re.I)
_HREF = re.compile(rb"""\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.I)
_TAG = re.compile(rb"<[^>]*>")
_COMMENT = re.compile(rb"<!--.*?-->", re.S)
CARRY_LIMIT = 1 << 20  # an unterminated anchor longer than this is dropped, not buffered forever


def anchor_names(chunks: Iterable[bytes], encoding: str | None = None) -> Iterator[str]:
    """Each anchor's text, or the last part of its ``href`` when the text is empty (comments skipped)."""
    encoding = encoding or "utf-8"
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        if b"<!--" in buffer:
            buffer = _COMMENT.sub(b"", buffer)
        comment = buffer.find(b"<!--")  # not closed yet: wait for its end before reading past it
        scan = buffer if comment == -1 else buffer[:comment]
        end = 0
        for match in _ANCHOR.finditer(scan):
            end = match.end()
            name = _name(match, encoding)
            if name:
                yield name
        rest = scan[end:]
        starts = [found.start() for found in _ANCHOR_START.finditer(rest)]
        # keep an anchor not closed yet, or a "<a" / "<!-" cut at the chunk's end
        rest = rest[starts[-1]:] if starts else rest[-3:]
        buffer = rest if comment == -1 else rest + buffer[comment:]
        if len(buffer) > CARRY_LIMIT:
            buffer = b""


def _name(match: re.Match, encoding: str) -> str:
    text = html.unescape(_TAG.sub(b"", match.group(2)).decode(encoding, "replace")).strip()
    if text:
        return text
    href = _HREF.search(match.group(1))
    if href is None:
        return ""
    url = html.unescape(next(part for part in href.groups() if part is not None).decode(encoding, "replace"))
    return url.split("#", 1)[0].split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
