"""Named routes matched in a declared order (priority, then registration) on the percent-decoded path."""

import re
from collections.abc import Callable
from dataclasses import dataclass

from satchel.errors import ConfigError, MethodNotAllowed, NotFound

READ_METHODS = frozenset({"GET", "HEAD"})
PATH_MATCHES_KEPT = 4096  # paths whose regex matches are remembered; installers ask the same few pages again
PATH_MEMO_MAX_CHARS = 512  # longer paths are matched every time: the memo stays small whatever clients send


@dataclass
class Route:
    """A named route; ``pattern`` is a regex with named groups, matched against the whole path."""

    name: str
    pattern: str
    view: Callable
    methods: frozenset[str]
    permission: str | None = None
    predicate: Callable | None = None  # request -> bool; a False answer lets later routes match
    write: bool = False
    own_transaction: bool = False  # the view writes through request.write() itself

    def __post_init__(self):
        self.regex = re.compile(self.pattern + r"\Z")


# Match-order bands (higher first; equal priorities keep registration order, core's routes first).
# A route's owner declares the band that says why it must precede the general routes.
PRIORITY_DEFAULT = 0
PRIORITY_INDEX_TYPE = 100  # a predicate narrows it to indexes of one type (e.g. mirror files)
PRIORITY_NODE = 200  # a predicate narrows it to a node role (e.g. a replica's files)


class Router:
    """What ``satchel_add_routes(router)`` receives.

    Match order: by ``priority`` (higher first), then registration order; a route added with
    ``before``/``after`` sits directly next to that route instead. ``check()`` resolves the order
    and refuses an unknown ``before``/``after`` name (``App`` calls it at start-up).
    """

    def __init__(self):
        self._added: list[tuple[Route, int, str | None, str | None]] = []
        self._names: set[str] = set()
        self._ordered: list[Route] | None = None
        self._by_path: dict[str, tuple] = {}  # path -> ((route, groups), ...) of routes whose regex matches

    def add(self, name: str, pattern: str, view: Callable, methods=("GET",),
            permission: str | None = None, predicate: Callable | None = None,
            before: str | None = None, after: str | None = None, priority: int = PRIORITY_DEFAULT,
            own_transaction: bool = False) -> Route:
        """Register a route; ``before``/``after`` name a route to sit next to (``satchel.web.routes``).

        GET routes also answer HEAD. Routes with other methods run in a write transaction,
        unless ``own_transaction``: then the view gets a read transaction and writes in short
        transactions of its own (``request.write()``), e.g. after reading a large body, so the
        single write lock is not held meanwhile.
        """
        if name in self._names:
            raise ValueError(f"route {name!r} is already registered")
        if before is not None and after is not None:
            raise ValueError(f"route {name!r}: give before or after, not both")
        if (before or after) and priority != PRIORITY_DEFAULT:
            raise ValueError(f"route {name!r}: a route placed next to another takes its priority")
        methods = frozenset(m.upper() for m in methods)
        if "GET" in methods:
            methods |= {"HEAD"}
        route = Route(name, pattern, view, methods, permission, predicate,
                      write=not methods <= READ_METHODS and not own_transaction,
                      own_transaction=own_transaction)
        self._added.append((route, priority, before, after))
        self._names.add(name)
        self._ordered = None
        self._by_path = {}
        return route

    @property
    def routes(self) -> list[Route]:
        """Every route in match order."""
        if self._ordered is None:
            self._ordered = self._order()
        return self._ordered

    def check(self) -> None:
        """Resolve the match order now: ``ConfigError`` for an unknown or circular ``before``/``after``."""
        self._ordered = self._order()
        self._by_path = {}

    def _order(self) -> list[Route]:
        free = [(route, priority) for route, priority, before, after in self._added if not (before or after)]
        ordered = [route for route, _ in sorted(free, key=lambda item: -item[1])]  # stable: ties keep order
        pending = [(route, before, after) for route, _, before, after in self._added if before or after]
        while pending:
            placed = {route.name: index for index, route in enumerate(ordered)}
            waiting = []
            for route, before, after in pending:
                anchor = before or after
                if anchor not in placed:
                    waiting.append((route, before, after))
                    continue
                ordered.insert(placed[anchor] + (1 if after else 0), route)
                placed = {r.name: index for index, r in enumerate(ordered)}
            if len(waiting) == len(pending):
                route, before, after = waiting[0]
                anchor = before or after
                why = "a circle of before/after" if anchor in self._names else "no route of that name"
                raise ConfigError(f"route {route.name!r} is to go {'before' if before else 'after'} "
                                  f"{anchor!r}: {why} (known routes: see satchel.web.routes)")
            pending = waiting
        return ordered

    def _candidates(self, path: str) -> tuple:
        """``(route, groups)`` of every route whose pattern matches ``path``, in match order.

        A pure function of the path, so remembered: a hit costs one dict lookup instead of a regex per
        route. The memory is bounded by dropping it whole when full (dict operations are atomic under
        the GIL, so threads share it without a lock).
        """
        found = self._by_path.get(path)
        if found is None:
            found = tuple((route, m.groupdict()) for route in self.routes if (m := route.regex.match(path)))
            if len(path) <= PATH_MEMO_MAX_CHARS:
                if len(self._by_path) >= PATH_MATCHES_KEPT:
                    self._by_path = {}
                self._by_path[path] = found
        return found

    def match(self, request) -> tuple[Route, dict[str, str]]:
        """The first route whose pattern, method and predicate match."""
        path = request.path_info
        method = request.method
        path_matched = method_matched = False
        for route, groups in self._candidates(path):
            path_matched = True
            if method not in route.methods:
                continue
            method_matched = True
            matchdict = {k: v for k, v in groups.items() if v is not None}
            if route.predicate is not None:
                request.matchdict = matchdict  # predicates may look at the path's parts
                if not route.predicate(request):
                    continue
            return route, matchdict
        if path_matched and not method_matched:
            raise MethodNotAllowed(f"method {method} not allowed on {path}")
        raise NotFound(f"no resource at {path}")

    def match_plain(self, environ) -> tuple[Route, dict[str, str]] | None:
        """``match`` without a request object, for a route that needs none: None unless the first route
        matching path and method has no predicate (and the path is ASCII, so needs no decoding)."""
        path = environ.get("PATH_INFO", "")
        if not path.isascii():
            return None
        method = environ.get("REQUEST_METHOD")
        for route, groups in self._candidates(path):
            if method in route.methods:
                if route.predicate is not None:
                    return None
                return route, {k: v for k, v in groups.items() if v is not None}
        return None

    def table(self) -> list[tuple[str, str, list[str]]]:
        """``(name, pattern, methods)`` for every route, in match order."""
        return [(r.name, r.pattern, sorted(r.methods)) for r in self.routes]
