"""Options of private indexes (uploads)."""

DEFAULT_MAX_REQUEST_BODY_SIZE = 1 << 30  # devpi-server's default: 1 GiB


def add_options(parser):
    """Called from ``satchel_add_options``."""
    parser.add_option(
        "max-request-body-size", type=int, default=DEFAULT_MAX_REQUEST_BODY_SIZE, metavar="BYTES",
        commands=("serve",),
        help="largest upload body accepted, in bytes; larger ones get 413 (default: 1073741824)")
