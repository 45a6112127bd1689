"""Cold and warm ``pip download`` of 10 packages through a satchel mirror, against straight from upstream.

The upstream is a local fake index (benchmark traffic stays on 127.0.0.1) that adds a fixed
delay per request, standing in for a remote index. Usage:
python bench/mirror_pip_bench.py [--rounds 3] [--latency 0.05] [--write-results]
"""

import argparse
import base64
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common_ops import append_results, make_big_wheel, satchel_server  # noqa: E402

from satchel.testing.fake_upstream import FakeUpstream  # noqa: E402

JSON = {"Accept": "application/json", "Content-Type": "application/json"}
PROJECTS = [f"bench-pkg-{number}" for number in range(10)]


def pip_download(index_url: str, target: Path) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    env["PIP_CONFIG_FILE"] = os.devnull
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-cache-dir", "--isolated",
                    "--disable-pip-version-check", "-q", "-d", str(target), "--index-url", index_url, *PROJECTS],
                   check=True, env=env, stdin=subprocess.DEVNULL)
    return time.monotonic() - started


def mirror_index(base: str, upstream_url: str) -> str:
    token = requests.post(base + "/+login", json={"user": "root", "password": ""}, headers=JSON,
                          timeout=30).json()["result"]["password"]
    auth = {**JSON, "X-Devpi-Auth": base64.b64encode(f"root:{token}".encode()).decode()}
    requests.put(base + "/root/up", json={"type": "mirror", "mirror_url": upstream_url},
                 headers=auth, timeout=30).raise_for_status()
    return base + "/root/up/+simple/"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--latency", type=float, default=0.05, help="upstream delay per request, seconds")
    parser.add_argument("--write-results", action="store_true")
    args = parser.parse_args()
    direct, cold, warm = [], [], []
    with FakeUpstream() as upstream, tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name in PROJECTS:
            dist = name.replace("-", "_")
            upstream.add_file(name, f"{dist}-1.0-py3-none-any.whl", make_big_wheel(name, "1.0", 256))
        upstream.fail("*", f"delay:{args.latency}")
        for number in range(args.rounds):
            direct.append(pip_download(upstream.url, tmp / f"direct{number}"))
            server = satchel_server("satchel", tmp / f"server{number}", tmp / f"satchel{number}.log")
            server.start()
            server.wait_ready()
            try:
                index_url = mirror_index(server.base_url, upstream.url)
                cold.append(pip_download(index_url, tmp / f"cold{number}"))
                warm.append(pip_download(index_url, tmp / f"warm{number}"))
            finally:
                server.stop()
    med = statistics.median
    lines = [f"Command: `python bench/mirror_pip_bench.py --rounds {args.rounds} --latency {args.latency}`; "
             f"10 packages (256 KiB wheels) from a fake upstream on 127.0.0.1 that delays every request by "
             f"{args.latency * 1000:.0f} ms; `pip download --no-deps --no-cache-dir`; medians of {args.rounds} rounds, "
             "a fresh satchel serverdir per round.", "",
             "| path | seconds | ratio to straight from upstream |", "| --- | ---: | ---: |",
             f"| straight from upstream | {med(direct):.2f} | 1.00 |",
             f"| through satchel, cold | {med(cold):.2f} | {med(cold) / med(direct):.2f} |",
             f"| through satchel, warm | {med(warm):.2f} | {med(warm) / med(direct):.2f} |", "",
             f"Issue 4: cold at most 1.3x ({'met' if med(cold) <= 1.3 * med(direct) else 'NOT met'}), "
             f"warm faster than upstream ({'met' if med(warm) < med(direct) else 'NOT met'}).", ""]
    report = "\n".join(lines)
    print(report)
    if args.write_results:
        append_results("pip download through the mirror (bench/mirror_pip_bench.py)", report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
