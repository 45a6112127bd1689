#!/usr/bin/env python3
"""The bare-stack baseline: a minimal waitress WSGI app replaying answers recorded from satchel.

    python bench/bare_app.py --manifest FILE --port P [--threads 8]

The manifest (written by scenario_bare.py) holds, per form (HTML or PEP 691 JSON, plain or gzip),
the status, the headers and a file with the body exactly as satchel sent them. The app picks the
form from Accept and Accept-Encoding, as satchel does, and does nothing else: what is left of
satchel's time per request is its own work around the page cache.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import waitress


def make_app(manifest: Path):
    answers = {}
    for entry in json.loads(manifest.read_text()):
        body = Path(entry["body"]).read_bytes()
        answers[(entry["json"], entry["gzip"])] = (entry["status"], [tuple(h) for h in entry["headers"]], body)

    def app(environ, start_response):
        if environ["PATH_INFO"] == "/+api":
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", "2")])
            return [b"{}"]
        form = ("json" in environ.get("HTTP_ACCEPT", ""), "gzip" in environ.get("HTTP_ACCEPT_ENCODING", ""))
        status, headers, body = answers[form]
        start_response(status, list(headers))
        return [body]

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    waitress.serve(make_app(args.manifest), host="127.0.0.1", port=args.port, threads=args.threads,
                   ident="bare")


if __name__ == "__main__":
    main()
