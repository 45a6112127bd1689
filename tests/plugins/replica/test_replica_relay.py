"""The replica relays writes to the primary as a stream: a large upload never sits in its memory."""

import hashlib
import uuid

import pytest
import requests

pytestmark = pytest.mark.slow
MiB = 1 << 20
SIZE = 500 * MiB
CHUNK = 4 * MiB


class MultipartFile:
    """A multipart/form-data upload body read from a file as it is sent (the test holds none of it)."""

    def __init__(self, fields: dict, filename: str, path, size: int):
        self.boundary = uuid.uuid4().hex
        head = b"".join(
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
            for name, value in fields.items())
        head += (f'--{self.boundary}\r\nContent-Disposition: form-data; name="content"; '
                 f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n').encode()
        self.parts = [head, None, f"\r\n--{self.boundary}--\r\n".encode()]
        self.length = len(head) + size + len(self.parts[2])
        self.path = path

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self) -> int:
        return self.length

    def __iter__(self):
        yield self.parts[0]
        with open(self.path, "rb") as handle:
            yield from iter(lambda: handle.read(CHUNK), b"")
        yield self.parts[2]

    def read(self, size: int = -1) -> bytes:
        if not hasattr(self, "_chunks"):
            self._chunks, self._buffer = iter(self), b""
        while size < 0 or len(self._buffer) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer += chunk
        if size < 0:
            size = len(self._buffer)
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data


def peak_rss(server) -> int:
    """The process's peak resident memory (VmHWM) in bytes."""
    for line in open(f"/proc/{server.process.pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc/PID/status")


def zeros_sha256(size: int) -> str:
    digest, block = hashlib.sha256(), bytes(CHUNK)
    for offset in range(0, size, CHUNK):
        digest.update(block[:min(CHUNK, size - offset)])
    return digest.hexdigest()


def test_large_upload_streams_through_the_replica(cluster, primary, tmp_path):
    replica = cluster.replica(primary, "--proxy-timeout", "300")  # a busy test machine is slow to store it
    cluster.wait_in_sync(replica, primary)
    path = tmp_path / "big.bin"
    with open(path, "wb") as handle:
        handle.truncate(SIZE)  # sparse: created at once, reads as zeros
    filename = "big-pkg-1.0.tar.gz"
    body = MultipartFile({":action": "file_upload", "name": "big-pkg", "version": "1.0"}, filename, path, SIZE)
    before = peak_rss(replica)
    response = requests.post(replica.url + "/alice/dev/", data=body, auth=("alice", "pw"),
                             headers={"Content-Type": body.content_type}, timeout=600)
    assert response.status_code == 200, response.text
    assert response.headers["X-Devpi-Proxy"] == "replica"
    grown = peak_rss(replica) - before
    # holding the body would have grown it by its 500 MiB at least
    assert grown < 64 * MiB, f"the replica's peak RSS grew by {grown // MiB} MiB"
    status, page = cluster.page(replica, "big-pkg")
    assert status == 200 and [entry["filename"] for entry in page["files"]] == [filename]
    assert page["files"][0]["hashes"]["sha256"] == zeros_sha256(SIZE)
