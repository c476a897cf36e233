"""The dialer in process: ``Dialer``, its ``Message`` objects, ``State`` and the errors.

The classes are native (``dialout._native``); this module adds what is plainer in Python:
the ``State`` enum with pymess's codes and the exception classes.
"""

import enum
from typing import Any, Dict, Optional

from dialout._native import Dialer, HistoryEntry, Message, MessagePages, Template

__all__ = [
    "Dialer",
    "DialerError",
    "Failed",
    "HistoryEntry",
    "InvalidInput",
    "Message",
    "MessagePages",
    "Refused",
    "State",
    "Template",
]


class State(enum.IntEnum):
    """A message's state, with pymess's numbers (reports keep working after the move)."""

    WAITING = -1
    NOT_ASSIGNED = 0
    READY = 1
    RESCHEDULED_BY_DIALER = 2
    CALL_IN_PROGRESS = 3
    HANGUP = 4
    DONE = 5
    RESCHEDULED = 6
    ANSWERED_COMPLETE = 7
    ANSWERED_PARTIAL = 8
    UNREACHABLE = 9
    DECLINED = 10
    UNANSWERED = 11
    ERROR_UPDATE = 66
    DEBUG = 77
    ERROR = 88
    ERROR_RETRY = 99


class DialerError(Exception):
    """A dialer call that did not do what was asked.

    ``kind`` is the CLI's JSON error kind (``invalid_input``, ``refused``, ``failed``),
    ``message`` says why, and ``field`` names the argument at fault, where there is one.
    """

    kind = "failed"

    def __init__(self, message: str, field: Optional[str] = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def as_dict(self) -> Dict[str, Any]:
        """``{"kind", "message", "field"}``: what ``dialout --json`` prints as ``error``."""
        return {"kind": self.kind, "message": self.message, "field": self.field}


class InvalidInput(DialerError, ValueError):
    """Bad input (a number, content, tag, unknown id or slug...): nothing was stored."""

    kind = "invalid_input"


class Refused(DialerError):
    """Not sent: a template's rule, the do-not-call list or a limit refused it, or the
    message's state forbids the action. Nothing was stored."""

    kind = "refused"


class Failed(DialerError):
    """The store or a backend failed."""

    kind = "failed"
