"""Named routes matched in registration order on the percent-decoded path."""

import re
from collections.abc import Callable
from dataclasses import dataclass

from satchel.errors import MethodNotAllowed, NotFound

READ_METHODS = frozenset({"GET", "HEAD"})


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


class Router:
    """What ``satchel_add_routes(router)`` receives."""

    def __init__(self):
        self.routes: list[Route] = []
        self._names: set[str] = set()

    def add(self, name: str, pattern: str, view: Callable, methods=("GET",),
            permission: str | None = None, predicate: Callable | None = None,
            before: str | None = None, own_transaction: bool = False) -> Route:
        """Register a route; ``before`` puts it ahead of the named route (first match wins).

        GET routes also answer HEAD. Routes with other methods run in a write transaction,
        unless ``own_transaction``: then the view gets a read transaction and writes in short
        transactions of its own (``request.write()``), e.g. after reading a large body, so the
        single write lock is not held meanwhile.
        """
        if name in self._names:
            raise ValueError(f"route {name!r} is already registered")
        methods = frozenset(m.upper() for m in methods)
        if "GET" in methods:
            methods |= {"HEAD"}
        route = Route(name, pattern, view, methods, permission, predicate,
                      write=not methods <= READ_METHODS and not own_transaction,
                      own_transaction=own_transaction)
        position = len(self.routes)
        if before is not None:
            position = next((i for i, r in enumerate(self.routes) if r.name == before), position)
        self.routes.insert(position, route)
        self._names.add(name)
        return route

    def match(self, request) -> tuple[Route, dict[str, str]]:
        """The first route whose pattern, method and predicate match."""
        path = request.path_info
        method = request.method
        path_matched = method_matched = False
        for route in self.routes:
            found = route.regex.match(path)
            if found is None:
                continue
            path_matched = True
            if method not in route.methods:
                continue
            method_matched = True
            matchdict = {k: v for k, v in found.groupdict().items() if v is not None}
            if route.predicate is not None:
                request.matchdict = matchdict  # predicates may look at the path's parts
                if not route.predicate(request):
                    continue
            return route, matchdict
        if path_matched and not method_matched:
            raise MethodNotAllowed(f"method {method} not allowed on {path}")
        raise NotFound(f"no resource at {path}")

    def table(self) -> list[tuple[str, str, list[str]]]:
        """``(name, pattern, methods)`` for every route, in match order."""
        return [(r.name, r.pattern, sorted(r.methods)) for r in self.routes]
