"""Blobs in an S3-compatible bucket through boto3, under ``<prefix>blobs/<sha256>``.

``spool`` writes and hashes the bytes into a local temp file (nothing reaches the bucket yet);
``publish`` uploads it (multipart for large files, boto3's transfer manager) and then checks the
stored object's size and recorded sha256 before returning, so the record naming the blob commits
only after the blob is complete in the bucket. A failed upload leaves no object: S3 makes an
object visible only when its upload completes; an interrupted multipart upload is aborted by
boto3, or by ``leftovers(remove=True)`` (``satchel fsck --repair``) after a crash.
"""

import os
import time
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from pathlib import Path

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from satchel.errors import ConfigError
from satchel.storage.blobs import check_sha256, spool_to_file
from satchel.storage.contract import BlobInfo, BlobStore, SpooledBlob

REDIRECT_SECONDS = 300  # lifetime of a pre-signed download URL
TRANSFER = TransferConfig(multipart_threshold=64 << 20, multipart_chunksize=64 << 20)


def _missing(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}


class S3BlobStore(BlobStore):
    """Settings: ``bucket`` (required), ``prefix``, ``endpoint_url``, ``region``, ``redirect``."""

    def __init__(self, spool_root: Path, bucket: str, prefix: str = "", endpoint_url: str | None = None,
                 region: str | None = None, redirect: bool = False):
        if not bucket:
            raise ConfigError("--blobs s3 needs a bucket: --s3-bucket NAME")
        self.bucket, self.redirect = bucket, redirect
        self.prefix = prefix.lstrip("/")
        self.spool_root = Path(spool_root)
        self.spool_root.mkdir(parents=True, exist_ok=True)
        # boto3 finds credentials itself: AWS_* variables, profiles, instance roles
        session = boto3.session.Session(region_name=region)
        self.client = session.client("s3", endpoint_url=endpoint_url or None,
                                     config=Config(retries={"max_attempts": 3, "mode": "standard"},
                                                   max_pool_connections=32))
        try:
            self.client.head_bucket(Bucket=bucket)
        except (BotoCoreError, ClientError) as exc:
            where = endpoint_url or "the default S3 endpoint"
            raise ConfigError(f"cannot use S3 bucket {bucket!r} at {where}: {exc}") from None

    def _key(self, sha256: str) -> str:
        return f"{self.prefix}blobs/{check_sha256(sha256)}"

    def spool(self, chunks: Iterable[bytes]) -> SpooledBlob:
        sha256, size, tmpname = spool_to_file(chunks, self.spool_root)
        return SpooledBlob(sha256, size, tmpname)

    def publish(self, spooled: SpooledBlob, sync: bool = True) -> BlobInfo:
        key = self._key(spooled.sha256)
        try:
            if not self._stored(key, spooled):
                self.client.upload_file(spooled.token, self.bucket, key, Config=TRANSFER,
                                        ExtraArgs={"Metadata": {"sha256": spooled.sha256}})
                if not self._stored(key, spooled):
                    raise OSError(f"S3 object {key} does not match after its upload")
        finally:
            self.discard(spooled)
        return BlobInfo(spooled.sha256, spooled.size)

    def _stored(self, key: str, spooled: SpooledBlob) -> bool:
        """Whether ``key`` holds this blob completely (size and recorded sha256)."""
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _missing(exc):
                return False
            raise
        return head["ContentLength"] == spooled.size and \
            head.get("Metadata", {}).get("sha256") in (None, spooled.sha256)

    def discard(self, spooled: SpooledBlob) -> None:
        try:
            os.unlink(spooled.token)
        except FileNotFoundError:
            pass

    def leftovers(self, older_than: float = 3600, remove: bool = False) -> tuple[int, int]:
        """Local spool files and the bucket's unfinished multipart uploads under the prefix."""
        # file times are stamped by the OS's wall clock, not satchel.clock's (which tests may fake)
        cutoff = time.time() - older_than
        count = size = 0
        for entry in os.scandir(self.spool_root):
            try:
                stat = entry.stat()
                if stat.st_mtime > cutoff:
                    continue
                if remove:
                    os.unlink(entry.path)
            except FileNotFoundError:
                continue
            count, size = count + 1, size + stat.st_size
        uploads = self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=self.prefix).get("Uploads", ())
        for upload in uploads:
            if upload["Initiated"] > datetime.fromtimestamp(cutoff, timezone.utc):
                continue
            if remove:
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=upload["Key"],
                                                   UploadId=upload["UploadId"])
            count += 1
        return count, size

    def open(self, sha256: str):
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(sha256))["Body"]
        except ClientError as exc:
            if _missing(exc):
                raise FileNotFoundError(sha256) from None
            raise

    def exists(self, sha256: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(sha256))
        except ClientError as exc:
            if _missing(exc):
                return False
            raise
        return True

    def delete(self, sha256: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(sha256))

    def __iter__(self) -> Iterator[str]:
        start = f"{self.prefix}blobs/"
        names = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=start):
            names += [item["Key"][len(start):] for item in page.get("Contents", ())]
        return iter(sorted(name for name in names if len(name) == 64))

    def url(self, sha256: str, filename: str) -> str | None:
        """With ``redirect``: a pre-signed GET URL valid for a few minutes."""
        if not self.redirect:
            return None
        return self.client.generate_presigned_url(
            "get_object", ExpiresIn=REDIRECT_SECONDS,
            Params={"Bucket": self.bucket, "Key": self._key(sha256),
                    "ResponseContentDisposition": f'attachment; filename="{filename}"'})
