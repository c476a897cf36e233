"""A drop-in for pycall 2.3.2: build Asterisk call files and spool them.

Change ``from pycall import ...`` to ``from dialout.pycall import ...``. Rendering, checks
and the atomic spool are dialout's (the ``dialout-callfile`` Rust crate), so a value that
could inject a line or that Asterisk would misread is refused with the reason.
"""

from dialout.pycall.actions import Action, Application, Context
from dialout.pycall.call import Call
from dialout.pycall.callfile import CallFile
from dialout.pycall.errors import (
    InvalidTimeError,
    NoSpoolPermissionError,
    NoUserError,
    NoUserPermissionError,
    PycallError,
    UnknownError,
    ValidationError,
)

__all__ = [
    "Action",
    "Application",
    "Call",
    "CallFile",
    "Context",
    "InvalidTimeError",
    "NoSpoolPermissionError",
    "NoUserError",
    "NoUserPermissionError",
    "PycallError",
    "UnknownError",
    "ValidationError",
]
