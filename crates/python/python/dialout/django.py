"""pymess's dialer functions for a Django project, backed by dialout.

Swap ``from pymess.backend.dialer import send, send_template`` for
``from dialout.django import send, send_template``. Model instances in ``related_objects``
are stored as ``app_label.model:pk`` (``auth.user:42``). The dialer is opened from the
Django settings ``DIALOUT_DATABASE_URL`` and ``DIALOUT_CONFIG`` when present, else as the
``dialout`` command opens it (``DIALOUT_*`` environment, ``./dialout.toml``,
``./dialout.db``), once per process and reopened if those settings change.

Only this module imports Django; ``import dialout`` never does.
"""

import json
import threading
from typing import Any, Iterable, Optional

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder

from dialout._dialer import Dialer, InvalidInput, Message, Refused

__all__ = ["get_dialer", "related_key", "send", "send_template"]

# Keyword arguments of ``Dialer.send`` that are options, not extra data.
_OPTIONS = frozenset(
    ("priority", "at", "queued", "idempotency_key", "time_zone", "backend", "predictive",
     "is_autodialer", "allow_duplicate")
)

_lock = threading.Lock()
_opened = None  # (key, Dialer)


def get_dialer() -> Dialer:
    """The process's dialer, opened from the Django settings."""
    global _opened
    url = getattr(settings, "DIALOUT_DATABASE_URL", None)
    config = getattr(settings, "DIALOUT_CONFIG", None)
    key = (url, None if config is None else str(config))
    opened = _opened
    if opened is not None and opened[0] == key:
        return opened[1]
    with _lock:
        if _opened is None or _opened[0] != key:
            _opened = (key, Dialer(database_url=url, config=config))
        return _opened[1]


def related_key(obj: Any) -> str:
    """``app_label.model:pk`` for a model instance; a ``TYPE:ID`` string as it is."""
    if isinstance(obj, str):
        return obj
    meta = getattr(obj, "_meta", None)
    if meta is None:
        raise InvalidInput(
            "invalid related_objects: expected model instances or TYPE:ID strings, not %s"
            % type(obj).__name__,
            "related_objects",
        )
    if obj.pk is None:
        raise InvalidInput(
            "invalid related_objects: %s.%s is not saved (no pk)" % (meta.app_label, meta.model_name),
            "related_objects",
        )
    return "%s.%s:%s" % (meta.app_label, meta.model_name, obj.pk)


def _related(related_objects: Optional[Iterable[Any]]):
    if related_objects is None:
        return None
    return [related_key(o) for o in related_objects]


def _json(value: Any) -> Any:
    """Values Django's JSON fields take (dates, decimals, UUIDs) as JSON."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def send(recipient: str, content: str, related_objects: Optional[Iterable[Any]] = None,
         tag: Optional[str] = None, send_immediately: bool = False, **kwargs: Any) -> Message:
    """pymess's ``send``: keyword arguments are stored as the message's extra data (an
    ``extra_data`` dict among them is merged in), except ``Dialer.send``'s options
    (``priority``, ``is_autodialer``, ``at``, ``queued``, ...). Returns the message."""
    options = {k: kwargs.pop(k) for k in list(kwargs) if k in _OPTIONS}
    extra = _json(kwargs) if kwargs else {}
    return get_dialer().send(recipient, content, _related(related_objects), tag,
                             send_immediately=send_immediately, **options, **extra)


def send_template(recipient: str, slug: str, context_data: Any,
                  related_objects: Optional[Iterable[Any]] = None, tag: Optional[str] = None,
                  send_immediately: bool = False) -> Optional[Message]:
    """pymess's ``send_template``: the message, or None when the template refuses to send
    (inactive, or a duplicate for these related objects)."""
    try:
        return get_dialer().send_template(recipient, slug, _json(context_data or {}),
                                          _related(related_objects), tag,
                                          send_immediately=send_immediately)
    except Refused as e:
        # The template's own rule; a refusal for the recipient (do-not-call) still raises.
        if e.field is None:
            return None
        raise
