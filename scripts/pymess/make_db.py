"""Writes a django-pymess 0.7.6 database with its own API and dumps what it wrote as JSON.

    PYMESS_SQLITE=/tmp/pymess.sqlite3 python make_db.py OUT.json
    PYMESS_PG_NAME=pymess_test python make_db.py OUT.json

Messages in every state pymess has (WAITING from send() in batch mode, DEBUG from the dummy
backend, the Daktela states from the Daktela backend's own update methods, ERROR_UPDATE
from its failed status check, ERROR and ERROR_RETRY from a failed send), from templates and
without, with related objects (auth users and groups), tags, extra data, priorities and
predictive calls. Nothing goes over the network: the Daktela backend is only asked to
record states, as its status check does.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import Group, User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.core.serializers.json import DjangoJSONEncoder  # noqa: E402
from django.utils import timezone  # noqa: E402

import types  # noqa: E402

# The Daktela backend imports an HTTP session helper (requests, django-security-logger) that
# the pinned packages do not bring; nothing here makes a request, so a stand-in will do.
_stub = types.ModuleType("pymess.utils.logged_requests")
_stub.generate_session = lambda **kwargs: None
sys.modules["pymess.utils.logged_requests"] = _stub

from pymess.backend.dialer import DialerController, send, send_template  # noqa: E402
from pymess.backend.dialer.daktela import DaktelaDialerBackend  # noqa: E402
from pymess.enums import DialerMessageState as S  # noqa: E402
from pymess.models import DialerMessage, DialerTemplate  # noqa: E402

call_command("migrate", verbosity=0)

DAKTELA = DaktelaDialerBackend(config={
    "URL": "https://example.invalid/api/v6/campaignsRecords",
    "ACCESS_TOKEN": "not-used",
    "AUTODIALER_RECORD_TYPE": "records_auto",
    "PREDICTIVE_RECORD_TYPE": "records_pred",
})
FINAL_AT_DAKTELA = {S.DONE, S.ANSWERED_COMPLETE, S.ANSWERED_PARTIAL, S.UNREACHABLE, S.DECLINED,
                    S.UNANSWERED}

alice = User.objects.create(username="alice")
bob = User.objects.create(username="bob")
debtors = Group.objects.create(name="debtors")

DialerTemplate.objects.create(slug="reminder", body="Hello {{ name }}, you owe {{ amount }}.")
DialerTemplate.objects.create(slug="once", body="Only once for {{ name }}.",
                              is_allowed_duplicate_messages=False)
DialerTemplate.objects.create(slug="paused", body="Not now.", is_active=False)
# Django's own filter syntax, which dialout's templates do not read: refused by the import.
DialerTemplate.objects.create(slug="django-only", body='Paid on {{ when|date:"Y-m-d" }}.')
DialerTemplate.objects.create(slug="gone", body="Removed later, {{ name }}.")


def daktela_sent(message, n):
    """READY through the Daktela backend, as its publish records a new record."""
    data = dict(message.extra_data or {})
    data.update({"name": "records_%d" % n, "daktela_action": "0", "daktela_statuses": []})
    DAKTELA._update_message_after_sending(message, state=S.READY, sent_at=timezone.now(),
                                          extra_data=data)
    return message


def newest():
    """send() answers True or False: the message it stored is the newest one."""
    return DialerMessage.objects.latest("id")


n = 0
for state in S:
    n += 1
    number = "+42077700%04d" % n
    kwargs = {"note": "state %s" % state.name, "custom_fields": {"order_id": str(n)}}
    related = [alice] if n % 2 else [bob, debtors]
    if state == S.DEBUG:
        send(number, "Debug call %d" % n, related_objects=related, tag="debug-run",
             send_immediately=True, **kwargs)
        continue
    send(number, "Call number %d for %s" % (n, state.name), related_objects=related,
         tag="state-%d" % n if n % 3 else None, **kwargs)
    m = newest()
    if state == S.WAITING:
        continue
    if state in (S.ERROR, S.ERROR_RETRY):
        DAKTELA._update_message_after_sending_error(m, error="Invalid number", state=state)
        continue
    daktela_sent(m, n)
    if state == S.READY:
        continue
    if state == S.ERROR_UPDATE:
        DAKTELA._update_message_state_with_error(m, error_message=["no such record"])
        continue
    m.extra_data.update({"daktela_action": "5" if state in FINAL_AT_DAKTELA else "1"})
    DAKTELA._update_message(m, state=state, error=None, extra_data=m.extra_data,
                            is_final_state=state in FINAL_AT_DAKTELA)

# From templates: WAITING, then one published by the dummy backend.
send_template("+420777100001", "reminder", {"name": "Jan", "amount": "100 CZK"},
                   related_objects=[alice], tag="dunning")
send_template("+420777100002", "reminder", {"name": "Eva", "amount": "5 EUR"},
              related_objects=[bob])
DialerController().publish_or_retry_message(newest())
send_template("+420777100003", "once", {"name": "Jan"}, related_objects=[alice])
send_template("+420777100004", "gone", {"name": "Ota"})
DialerTemplate.objects.filter(slug="gone").delete()
# Predictive (not autodialer), highest priority, no content needed by pymess.
send("+420777100005", "Predictive call", is_autodialer=False, priority=1, tag="sales")

def when(t):
    """To the microsecond (DjangoJSONEncoder would keep milliseconds only)."""
    return t.isoformat() if t else None


messages = []
for m in DialerMessage.objects.order_by("id"):
    messages.append({
        "id": m.id,
        "created_at": when(m.created_at),
        "changed_at": when(m.changed_at),
        "sent_at": when(m.sent_at),
        "recipient": m.recipient,
        "content": m.content,
        "template_slug": m.template_slug,
        "template": m.template_id,
        "state": int(m.state),
        "backend": m.backend,
        "error": m.error,
        "extra_data": m.extra_data,
        "extra_sender_data": m.extra_sender_data,
        "tag": m.tag,
        "number_of_send_attempts": m.number_of_send_attempts,
        "number_of_status_check_attempts": m.number_of_status_check_attempts,
        "priority": m.priority,
        "is_autodialer": m.is_autodialer,
        "is_final_state": m.is_final_state,
        "related": sorted("%s.%s:%s" % (r.content_type.app_label, r.content_type.model, r.object_id)
                          for r in m.related_objects.all()),
    })
templates = [{
    "slug": t.slug,
    "body": t.body,
    "is_active": t.is_active,
    "is_allowed_duplicate_messages": t.is_allowed_duplicate_messages,
    "created_at": when(t.created_at),
    "changed_at": when(t.changed_at),
} for t in DialerTemplate.objects.order_by("slug")]

with open(sys.argv[1], "w") as f:
    json.dump({"messages": messages, "templates": templates}, f, cls=DjangoJSONEncoder, indent=1)
