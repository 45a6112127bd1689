"""Exceptions shared by core and plugins; each maps to an HTTP status."""


class SatchelError(Exception):
    """Base class; ``status`` is the HTTP status a request failing with it gets."""

    status = 500

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ConfigError(SatchelError):
    """Bad option, bad configuration file or unusable serverdir."""


class BadRequest(SatchelError):
    status = 400


class InvalidName(BadRequest):
    """A user, index or project name breaks a naming rule."""


class Unauthorized(SatchelError):
    status = 401


class AuthenticationRequired(Unauthorized):
    """401 with a Basic challenge, so that installers (pip, uv) retry with credentials or keyring."""

    headers = {"WWW-Authenticate": 'Basic realm="satchel"'}


class Forbidden(SatchelError):
    status = 403


class NotFound(SatchelError):
    status = 404


class MethodNotAllowed(SatchelError):
    status = 405


class Conflict(SatchelError):
    status = 409


class Gone(SatchelError):
    status = 410


class UnsupportedMediaType(SatchelError):
    status = 415


class UpstreamError(SatchelError):
    status = 502


class DuplicateName(ValueError):
    """A registry already holds an entry of that name."""


class NotAcceptable(SatchelError):
    status = 406
