"""pycall's exceptions. Each carries a message saying what was refused and why, and
``field``: the setting it is about (``"channel"``, ``"user"``, ``"time"``, ...) or None."""

__all__ = [
    "PycallError",
    "InvalidTimeError",
    "NoSpoolPermissionError",
    "NoUserError",
    "NoUserPermissionError",
    "UnknownError",
    "ValidationError",
]


class PycallError(Exception):
    """Base class of every error raised by dialout.pycall."""

    field = None


class InvalidTimeError(PycallError):
    """The time given to ``spool()`` is not a datetime, is out of range, or has passed."""


class NoSpoolPermissionError(PycallError):
    """The call file could not be put into the spool directory (permissions, an existing
    file of the same name, or a ``tempdir`` on another filesystem)."""


class NoUserError(PycallError):
    """The ``user`` to own the call file does not exist on this system."""


class NoUserPermissionError(PycallError):
    """This process may not give the call file to ``user`` (chown needs root or CAP_CHOWN)."""


class UnknownError(PycallError):
    """An unexpected I/O error while spooling; the message names the path and the cause."""


class ValidationError(PycallError):
    """A value Asterisk would misread, or that could inject a line, or a missing directory."""
