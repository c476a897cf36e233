"""dialout.django: pymess's send/send_template for a Django project."""
import datetime
import decimal
import inspect
import os
import uuid

import pytest

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_settings")
try:
    import django
except ImportError:  # never skipped: scripts/test installs it (tests/requirements.txt)
    pytest.fail("Django is missing: pip install -r crates/python/tests/requirements.txt",
                pytrace=False)

django.setup()

from django.contrib.auth.models import Group, User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import override_settings  # noqa: E402

import dialout  # noqa: E402
import dialout.django  # noqa: E402
from dialout import State  # noqa: E402
from dialout.django import send, send_template  # noqa: E402

call_command("migrate", verbosity=0)

NUMBER = "+420777123456"


@pytest.fixture
def project(db_url, clean_env):
    with override_settings(DIALOUT_DATABASE_URL=db_url):
        yield dialout.django.get_dialer()
    dialout.django._opened = None


def test_pymess_signatures():
    params = lambda f: [  # noqa: E731
        (p.name, p.default if p.default is not inspect.Parameter.empty else "-", p.kind)
        for p in inspect.signature(f).parameters.values()]
    P = inspect.Parameter
    assert params(send) == [
        ("recipient", "-", P.POSITIONAL_OR_KEYWORD), ("content", "-", P.POSITIONAL_OR_KEYWORD),
        ("related_objects", None, P.POSITIONAL_OR_KEYWORD), ("tag", None, P.POSITIONAL_OR_KEYWORD),
        ("send_immediately", False, P.POSITIONAL_OR_KEYWORD), ("kwargs", "-", P.VAR_KEYWORD)]
    assert params(send_template) == [
        ("recipient", "-", P.POSITIONAL_OR_KEYWORD), ("slug", "-", P.POSITIONAL_OR_KEYWORD),
        ("context_data", "-", P.POSITIONAL_OR_KEYWORD),
        ("related_objects", None, P.POSITIONAL_OR_KEYWORD), ("tag", None, P.POSITIONAL_OR_KEYWORD),
        ("send_immediately", False, P.POSITIONAL_OR_KEYWORD)]


def test_send_with_model_instances(project):
    alice = User.objects.create(username="alice-" + uuid.uuid4().hex)
    staff = Group.objects.create(name="staff-" + uuid.uuid4().hex)
    m = send(NUMBER, "Your parcel is here", related_objects=[alice, staff, "order:9"],
             tag="parcels", priority=2, is_autodialer=False, amount=decimal.Decimal("12.50"),
             when=datetime.date(2026, 5, 1))
    assert sorted(m.related_objects) == sorted(
        ["auth.user:%d" % alice.pk, "auth.group:%d" % staff.pk, "order:9"])
    assert m.tag == "parcels" and m.priority == 2 and m.is_autodialer is False
    assert m.extra_data == {"amount": "12.50", "when": "2026-05-01"}
    assert m.state is State.DEBUG
    # Stored where the settings point, and found by a model instance's key.
    pages = project.messages(related="auth.user:%d" % alice.pk)
    assert [x.id for p in pages for x in p] == [m.id]
    with pytest.raises(dialout.InvalidInput) as e:
        send(NUMBER, "Unsaved", related_objects=[User(username="ghost")])
    assert e.value.field == "related_objects"


def test_send_template_returns_none_when_the_template_refuses(project):
    bob = User.objects.create(username="bob-" + uuid.uuid4().hex)
    project.add_template("once", "Hello {{ name }}.", is_allowed_duplicate_messages=False)
    m = send_template(NUMBER, "once", {"name": "Bob"}, [bob], "greet")
    assert m.content == "Hello Bob." and m.template_slug == "once"
    assert m.related_objects == ["auth.user:%d" % bob.pk]
    assert send_template(NUMBER, "once", {"name": "Bob"}, [bob]) is None
    with pytest.raises(dialout.InvalidInput):
        send_template(NUMBER, "missing", {})


def test_settings_choose_the_database(clean_env, tmp_path):
    first, second = tmp_path / "first.db", tmp_path / "second.db"
    conf = tmp_path / "dialout-settings.toml"
    conf.write_text('database_url = "sqlite://%s"\n' % second)
    try:
        with override_settings(DIALOUT_DATABASE_URL="sqlite://%s" % first):
            send(NUMBER, "To the first")
        with override_settings(DIALOUT_CONFIG=str(conf)):
            send(NUMBER, "To the second")
            send(NUMBER, "To the second again")
    finally:
        dialout.django._opened = None
    count = lambda p: sum(len(x) for x in dialout.Dialer("sqlite://%s" % p).messages())  # noqa: E731
    assert (count(first), count(second)) == (1, 2)
