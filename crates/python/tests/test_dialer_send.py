"""Dialer.send and send_many: pymess's signature, the options, the message's fields, errors."""
import datetime
import uuid

import pytest

import dialout
from dialout import State

NUMBER = "+420777123456"


def test_send_publishes_and_returns_pymess_fields(dialer):
    m = dialer.send(NUMBER, "Your order has shipped", ["order:42", "customer:7"], "orders",
                    note="first", custom_fields={"a": [1, 2.5, None, True]})
    assert isinstance(m, dialout.Message)
    assert m.recipient == NUMBER
    assert m.content == "Your order has shipped"
    # The default configuration has one Dummy backend: pymess's debug state, final.
    assert m.state is State.DEBUG and m.state == 77
    assert m.is_final_state is True
    assert m.failed is False and m.error is None
    assert m.tag == "orders"
    assert sorted(m.related_objects) == ["customer:7", "order:42"]
    assert m.extra_data == {"note": "first", "custom_fields": {"a": [1, 2.5, None, True]}}
    assert m.extra_sender_data == {} or isinstance(m.extra_sender_data, dict)
    assert m.template_slug is None and m.template_id is None
    assert m.priority == 3 and m.is_autodialer is True and m.predictive is False
    assert m.created_at.tzinfo is not None
    assert m.created_at <= datetime.datetime.now(datetime.timezone.utc)
    assert m.backend == "dummy"
    assert m.existing is False
    # Interactive fields exist and are empty for a plain call.
    assert (m.digits, m.answer, m.answered_by, m.gather, m.machine) == (None,) * 5
    again = dialer.message(m.id)
    assert again == m and again.state is State.DEBUG


def test_send_options(dialer):
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=2)
    m = dialer.send("00420 777 123 457", "Later", priority=1, at=later, is_autodialer=False,
                    time_zone="Europe/Prague", extra_data={"x": 1}, y="2")
    assert m.recipient == "+420777123457"
    assert m.state is State.WAITING and not m.is_final_state
    assert m.priority == 1 and m.predictive is True and m.is_autodialer is False
    assert abs((m.not_before - later).total_seconds()) < 0.001
    assert m.time_zone == "Europe/Prague"
    # pymess dropped an explicit extra_data; here it is merged with the other keywords.
    assert m.extra_data == {"x": 1, "y": "2"}
    q = dialer.send(NUMBER, "Queued", queued=True)
    assert q.state is State.WAITING


def test_idempotency_key_returns_the_first_message(dialer):
    a = dialer.send(NUMBER, "Once", idempotency_key="k-1")
    b = dialer.send(NUMBER, "Once", idempotency_key="k-1")
    assert b.id == a.id and b.existing is True and a.existing is False
    with pytest.raises(dialout.InvalidInput) as e:
        dialer.send(NUMBER, "Other content", idempotency_key="k-1")
    assert e.value.field == "idempotency_key"


@pytest.mark.parametrize("args, kwargs, field", [
    (("12", "Hi"), {}, "recipient"),
    ((NUMBER, "   "), {}, "content"),
    ((NUMBER, "Hi", None, "bad tag!"), {}, "tag"),
    ((NUMBER, "Hi", ["Order:1"]), {}, "related_objects"),
    ((NUMBER, "Hi", "order:1"), {}, "related_objects"),
    ((NUMBER, "Hi"), {"priority": 7}, "priority"),
    ((NUMBER, "Hi"), {"backend": "nope"}, "backend"),
    ((NUMBER, "Hi"), {"time_zone": "Mars/Olympus"}, "time_zone"),
    ((NUMBER, "Hi"), {"at": "yesterday-ish"}, "at"),
    ((NUMBER, "Hi"), {"extra_data": [1]}, "extra_data"),
])
def test_invalid_input_names_the_argument_and_stores_nothing(dialer, args, kwargs, field):
    with pytest.raises(dialout.InvalidInput) as e:
        dialer.send(*args, **kwargs)
    err = e.value
    assert isinstance(err, ValueError) and isinstance(err, dialout.DialerError)
    assert err.kind == "invalid_input" and err.field == field, err.as_dict()
    assert err.as_dict() == {"kind": "invalid_input", "message": str(err), "field": field}
    assert [m for page in dialer.messages() for m in page] == []


def test_extra_data_must_be_json(dialer):
    with pytest.raises(TypeError):
        dialer.send(NUMBER, "Hi", when=object())


def test_send_many_is_all_or_nothing(dialer):
    sent = dialer.send_many([
        {"recipient": NUMBER, "content": "One", "tag": "bulk"},
        {"recipient": "+420777123458", "content": "Two", "related_objects": ["order:2"],
         "extra_data": {"n": 2}, "queued": True},
    ])
    assert [m.content for m in sent] == ["One", "Two"]
    assert sent[0].state is State.DEBUG and sent[1].state is State.WAITING
    assert sent[1].extra_data == {"n": 2} and sent[1].related_objects == ["order:2"]
    with pytest.raises(dialout.InvalidInput) as e:
        dialer.send_many([{"recipient": NUMBER, "content": "Fine"},
                          {"recipient": "nope", "content": "Bad"}])
    assert e.value.field == "recipient" and "request 1" in str(e.value)
    assert sum(len(p) for p in dialer.messages()) == 2
    with pytest.raises(dialout.InvalidInput) as e:
        dialer.send_many([{"recipient": NUMBER, "content": "x", "colour": "red"}])
    assert e.value.field == "colour"


def test_history_and_unknown_ids(dialer):
    m = dialer.send(NUMBER, "Tracked")
    h = dialer.history(m.id)
    assert h[0].from_state is None and h[-1].state is State.DEBUG
    assert all(isinstance(x.reason, str) for x in h)
    unknown = str(uuid.uuid4())
    assert dialer.message(unknown) is None
    with pytest.raises(dialout.InvalidInput) as e:
        dialer.history(unknown)
    assert e.value.field == "id"
    with pytest.raises(dialout.InvalidInput) as e:
        dialer.message("not-an-id")
    assert e.value.field == "id"


def test_send_asks_for_keys_and_a_machine_policy(dialer):
    m = dialer.send(NUMBER, "Your appointment is tomorrow at 9.",
                    gather={"prompt": "Press 1 to confirm, 2 to cancel.", "keys": "12",
                            "answers": {"1": "confirmed", "2": "cancelled"}},
                    machine="leave_message")
    assert m.machine == "leave_message"
    assert m.gather["keys"] == "12" and m.gather["answers"]["1"] == "confirmed"
    assert m.extra_data == {}, "gather and machine are options, not extra data"
    many = dialer.send_many([{"recipient": NUMBER, "content": "x", "machine": "hangup"}])
    assert many[0].machine == "hangup"


@pytest.mark.parametrize("kwargs, field", [
    ({"gather": {"keys": "1a"}}, "gather"),
    ({"gather": {"kyes": "12"}}, "gather"),
    ({"machine": "voicemail"}, "machine"),
])
def test_send_refuses_a_bad_gather_or_machine_and_stores_nothing(dialer, kwargs, field):
    before = sum(len(p) for p in dialer.messages())
    with pytest.raises(dialout.InvalidInput) as e:
        dialer.send(NUMBER, "hello", **kwargs)
    assert e.value.field == field, e.value.as_dict()
    assert sum(len(p) for p in dialer.messages()) == before


def test_template_carries_gather(dialer):
    t = dialer.add_template("confirm", "Hello {{ name }}.", gather={"keys": "12"},
                            machine="ignore")
    m = dialer.send_template(NUMBER, "confirm", {"name": "Jana"})
    assert m.gather["keys"] == "12" and m.machine == "ignore"
    with pytest.raises(dialout.InvalidInput) as e:
        dialer.add_template("bad", "x", gather={"digits": 0})
    assert e.value.field == "gather"
    assert t.slug == "confirm"
