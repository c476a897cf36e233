"""Templates through Dialer: add, get, list, update, remove, and send_template."""
import pytest

import dialout
from dialout import State

NUMBER = "+420777123456"


def test_template_crud(dialer):
    t = dialer.add_template("reminder", "Hello {{ name }}, you owe {{ amount }}.")
    assert (t.slug, t.is_active, t.is_allowed_duplicate_messages) == ("reminder", True, True)
    assert dialer.template("reminder").body == t.body
    assert dialer.template("missing") is None
    assert [x.slug for x in dialer.templates()] == ["reminder"]
    u = dialer.update_template("reminder", is_active=False)
    assert u.is_active is False and u.body == t.body
    with pytest.raises(dialout.InvalidInput) as e:
        dialer.add_template("reminder", "Again")
    assert e.value.field == "slug"
    with pytest.raises(dialout.InvalidInput) as e:
        dialer.add_template("Bad Slug", "x")
    assert e.value.field == "slug"
    with pytest.raises(dialout.InvalidInput) as e:
        dialer.update_template("reminder")
    assert e.value.kind == "invalid_input"
    dialer.remove_template("reminder")
    assert dialer.templates() == []
    with pytest.raises(dialout.InvalidInput) as e:
        dialer.remove_template("reminder")
    assert e.value.field == "slug"


def test_send_template_renders_and_refuses(dialer):
    dialer.add_template("reminder", "Hello {{ name }}, you owe {{ amount }}.")
    m = dialer.send_template(NUMBER, "reminder", {"name": "Jan", "amount": "100 CZK"},
                             ["invoice:9"], "dunning")
    assert m.content == "Hello Jan, you owe 100 CZK."
    assert m.template_slug == "reminder" and m.template_id is not None
    assert m.tag == "dunning" and m.related_objects == ["invoice:9"]
    assert m.state is State.DEBUG

    dialer.add_template("once", "Only once for {{ name }}.", is_allowed_duplicate_messages=False)
    dialer.send_template(NUMBER, "once", {"name": "Jan"}, ["invoice:9"])
    with pytest.raises(dialout.Refused) as e:
        dialer.send_template(NUMBER, "once", {"name": "Jan"}, ["invoice:9"])
    assert e.value.kind == "refused" and e.value.field is None

    dialer.add_template("paused", "Not now.", is_active=False)
    with pytest.raises(dialout.Refused):
        dialer.send_template(NUMBER, "paused", {})
    with pytest.raises(dialout.InvalidInput) as e:
        dialer.send_template(NUMBER, "missing", {})
    assert e.value.field == "slug"
    with pytest.raises(dialout.InvalidInput) as e:
        dialer.send_template(NUMBER, "reminder", ["not", "a", "dict"])
    assert e.value.field == "context_data"
    sent = [m for page in dialer.messages() for m in page]
    assert len(sent) == 2
