"""Long descriptions as PyPI shows them: readme-renderer (reStructuredText, Markdown, plain text),
whose output is already sanitized (no scripts, event handlers or ``javascript:`` URLs).

Rendered HTML is cached by the sha256 of the text and its content type, so a description is
rendered once, not per request.
"""

import hashlib
import threading
import warnings
from collections import OrderedDict

from markupsafe import Markup
from readme_renderer import markdown, rst, txt

CACHE_SIZE = 1024


def _content_type(metadata: dict) -> tuple[str, str]:
    """``(renderer, markdown variant)`` from ``description_content_type`` (default: rst, as PyPI)."""
    value = str(metadata.get("description_content_type") or "").lower()
    kind, _, params = value.partition(";")
    kind = kind.strip()
    variant = "GFM"
    for param in params.split(";"):
        key, _, val = param.strip().partition("=")
        if key == "variant" and val.strip():
            variant = val.strip()
    if kind == "text/markdown":
        return "markdown", variant
    if kind == "text/plain":
        return "plain", variant
    return "rst", variant


def render_description(text: str, metadata: dict) -> str:
    """Sanitized HTML of ``text``; reStructuredText that fails to render falls back to plain text."""
    kind, variant = _content_type(metadata)
    html = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if kind == "markdown":
            html = markdown.render(text, variant=variant)
        elif kind == "rst":
            html = rst.render(text)
    if html is None:
        html = txt.render(text)
    return html or ""


class DescriptionCache:
    """A bounded LRU of rendered descriptions keyed by content hash; safe across request threads."""

    def __init__(self, size: int = CACHE_SIZE):
        self.size = size
        self._items: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()
        self.renders = 0

    def html(self, metadata: dict) -> Markup:
        text = str(metadata.get("description") or "")
        if not text.strip():
            return Markup("")
        kind = str(metadata.get("description_content_type") or "")
        key = hashlib.sha256(f"{kind}\0{text}".encode("utf-8", "surrogatepass")).hexdigest()
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return Markup(self._items[key])
        html = render_description(text, metadata)
        with self._lock:
            self.renders += 1
            self._items[key] = html
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return Markup(html)
