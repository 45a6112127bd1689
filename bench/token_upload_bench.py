"""Uploads with an API token against uploads with a password (issue 17: at most 10% slower), one satchel.

One ``satchel serve`` on 127.0.0.1; one sequential keep-alive client uploads N wheels (default 1,000) to
``alice/pw`` with HTTP Basic and the password (twine's way) and N to ``alice/tok`` with ``-u __token__`` and an
API token, interleaved in blocks of 50 so both variants see the same machine. Only the request time counts
(bodies are encoded beforehand). Prints per-variant rate and median and the token/password ratio.

    python bench/token_upload_bench.py [--uploads 1000] [--block 50]
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

from satchel.testing.fixtures import make_wheel
from satchel.testing.server import ServerProcess

JSON = {"Accept": "application/json", "Content-Type": "application/json"}


def prepared(session, url, auth, name, version):
    filename, content = make_wheel(name, version)
    request = requests.Request("POST", url, auth=auth, files={"content": (filename, content)},
                               data={":action": "file_upload", "name": name, "version": version})
    return session.prepare_request(request)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=1000)
    parser.add_argument("--block", type=int, default=50)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp, ServerProcess(Path(tmp) / "server") as server:
        session = requests.Session()
        session.trust_env = False
        assert session.put(f"{server.url}/alice", json={"password": "pw"}, headers=JSON).status_code == 201
        for index in ("pw", "tok"):
            created = session.put(f"{server.url}/alice/{index}", json={}, headers=JSON, auth=("alice", "pw"))
            assert created.status_code == 200, created.text
        token = session.post(f"{server.url}/alice/+token-create", json={"allowed": ["upload"]}, headers=JSON,
                             auth=("alice", "pw")).json()["result"]["token"]
        variants = {"password": ("pw", ("alice", "pw")), "token": ("tok", ("__token__", token))}
        requests_of = {name: [prepared(session, f"{server.url}/alice/{index}/", auth, f"p{i}", "1.0")
                              for i in range(args.uploads)]
                       for name, (index, auth) in variants.items()}
        seconds = {name: [] for name in variants}
        for start in range(0, args.uploads, args.block):
            for name in variants:
                for request in requests_of[name][start:start + args.block]:
                    began = time.perf_counter()
                    response = session.send(request)
                    seconds[name].append(time.perf_counter() - began)
                    if response.status_code != 200:
                        print(f"{name}: upload failed {response.status_code} {response.text}", file=sys.stderr)
                        return 2
    rates = {name: len(times) / sum(times) for name, times in seconds.items()}
    for name, times in seconds.items():
        print(f"{name}: {rates[name]:.1f} uploads/s, median {statistics.median(times) * 1000:.1f} ms, "
              f"{len(times)} uploads")
    print(f"token/password rate ratio: {rates['token'] / rates['password']:.3f} (at least 0.9 wanted)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
