"""dialout for Python: place automated voice calls in process.

``dialout.pycall`` is a drop-in for pycall 2.3.2; ``dialout.Dialer`` is the dialer
(pymess's ``send``/``send_template`` and more); ``dialout.django`` swaps in for
``pymess.backend.dialer``. Importing ``dialout`` never needs Django.
"""

from dialout._dialer import (
    Dialer,
    DialerError,
    Failed,
    HistoryEntry,
    InvalidInput,
    Message,
    MessagePages,
    Refused,
    State,
    Template,
)
from dialout._native import __version__

__all__ = [
    "__version__",
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
