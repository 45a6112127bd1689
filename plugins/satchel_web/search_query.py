"""The search syntax (devpi-web's fields): ``word``, ``name:x``, ``summary:x``, ``version:x`` ...

Turned into an SQLite FTS5 match expression; every user word is quoted, so nothing the user types
is FTS5 syntax.
"""

import re
from dataclasses import dataclass, field

FIELDS = ("name", "summary", "description", "keywords", "version")
ALIASES = {"project": "name", "text": "description", "keyword": "keywords"}
_TERM = re.compile(r'(?:(\w+):)?("([^"]*)"|(\S+))')
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass
class Query:
    """A parsed query: ``terms`` are ``(field or None, words)``; words of one term form a phrase."""

    text: str
    terms: list[tuple[str | None, list[str]]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.terms)

    def fts(self) -> str:
        """The FTS5 expression: terms ANDed; a term is a phrase whose last word matches as a prefix."""
        parts = []
        for fieldname, words in self.terms:
            phrase = '"' + " ".join(words) + '"*'
            parts.append(f"{fieldname} : {phrase}" if fieldname else phrase)
        return " AND ".join(parts)


def parse(text: str) -> Query:
    """Parse user input; unknown field names are searched as plain words."""
    query = Query(text=text.strip())
    for match in _TERM.finditer(text or ""):
        fieldname = (match.group(1) or "").lower() or None
        value = match.group(3) if match.group(3) is not None else match.group(4)
        if fieldname is not None:
            fieldname = ALIASES.get(fieldname, fieldname)
            if fieldname not in FIELDS:
                value = f"{match.group(1)} {value}"
                fieldname = None
        words = [w.lower() for w in _WORD.findall(value)]
        if words:
            query.terms.append((fieldname, words))
    return query
