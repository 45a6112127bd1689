"""Open files for ``--connection-limit``: each client connection is a file descriptor.

waitress stops accepting new connections once the limit is reached, so a server loaded by many keep-alive
clients must have a limit well above their number, and the process may open that many files.
"""

import resource

from satchel.errors import ConfigError

DEFAULT_CONNECTION_LIMIT = 1000
RESERVED_FILES = 256  # storage, blobs, logs, upstream and primary connections besides the clients


def ensure_open_files(connection_limit: int) -> int:
    """Raise the soft limit of open files to what ``connection_limit`` needs; returns that number.

    A ``ConfigError`` when even the hard limit is too low (the admin raises it, e.g. systemd's
    ``LimitNOFILE=``, or lowers ``--connection-limit``).
    """
    if connection_limit < 1:
        raise ConfigError("--connection-limit must be at least 1")
    needed = connection_limit + RESERVED_FILES
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return needed
    if hard != resource.RLIM_INFINITY and hard < needed:
        raise ConfigError(f"--connection-limit {connection_limit} needs {needed} open files, but this "
                          f"process may open {hard} at most: raise the hard limit (ulimit -Hn, systemd "
                          f"LimitNOFILE=) or lower --connection-limit")
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
    return needed
