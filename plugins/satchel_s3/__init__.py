"""S3-compatible blob store (``--blobs s3 --s3-bucket NAME``), install ``satchel[s3]``."""

from pathlib import Path

from satchel.errors import ConfigError
from satchel.model.coerce import to_bool
from satchel.plugin import hookimpl
from satchel.storage.contract import BlobBackend

__version__ = "0.1.0"


def _factory(serverdir, settings, storage):
    try:
        from satchel_s3.store import S3BlobStore
    except ImportError as exc:
        raise ConfigError(f"--blobs s3 needs boto3: pip install 'satchel[s3]' ({exc})") from None
    return S3BlobStore(Path(serverdir) / "+blobs-spool", settings.get("bucket", ""),
                       prefix=settings.get("prefix", ""), endpoint_url=settings.get("endpoint_url"),
                       region=settings.get("region"), redirect=to_bool(settings.get("redirect", False), ConfigError))


@hookimpl
def satchel_add_options(parser):
    """The bucket, key prefix and endpoint of ``--blobs s3``, and whether downloads redirect."""
    parser.add_option("s3-bucket", default=None, metavar="NAME", help="bucket for --blobs s3")
    parser.add_option("s3-prefix", default=None, metavar="PREFIX",
                      help="key prefix in the bucket, e.g. 'satchel/' (default: none)")
    parser.add_option("s3-endpoint-url", default=None, metavar="URL",
                      help="S3-compatible endpoint (default: AWS's, from boto3's configuration)")
    parser.add_option("s3-redirect", flag=True, default=False,
                      help="answer downloads with a redirect to a short-lived pre-signed URL")


@hookimpl
def satchel_blob_backend(backends):
    """Offer ``--blobs s3``: files in an S3-compatible bucket."""
    backends.add("s3", BlobBackend(
        "s3", _factory, "an S3-compatible bucket (boto3; credentials as boto3 finds them)",
        options={"s3_bucket": "bucket", "s3_prefix": "prefix", "s3_endpoint_url": "endpoint_url",
                 "s3_redirect": "redirect"}))
