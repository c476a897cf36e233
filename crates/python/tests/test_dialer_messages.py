"""Dialer.messages (pages and filters), cancel and resend."""
import datetime

import pytest

import dialout
from dialout import State


def test_pages_and_filters(dialer):
    before = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=1)
    for i in range(7):
        dialer.send("+42077712%04d" % i, "Message %d" % i, ["order:%d" % (i % 2)],
                    "even" if i % 2 == 0 else "odd", queued=i >= 5)
    pages = list(dialer.messages(page_size=3))
    assert [len(p) for p in pages] == [3, 3, 1]
    contents = [m.content for p in pages for m in p]
    assert contents == ["Message %d" % i for i in reversed(range(7))]  # newest first
    every = lambda **f: [m.content for p in dialer.messages(**f) for m in p]  # noqa: E731
    assert every(tag="odd") == ["Message 5", "Message 3", "Message 1"]
    assert every(related="order:0") == ["Message 6", "Message 4", "Message 2", "Message 0"]
    assert every(state=State.WAITING) == ["Message 6", "Message 5"]
    assert every(state="WAITING") == every(state=-1) == ["Message 6", "Message 5"]
    assert every(recipient="00420 777 12 0003") == ["Message 3"]
    assert len(every(since=before)) == 7
    assert every(until=before) == []
    assert every(since=before.isoformat(), tag="even", state=State.DEBUG) == [
        "Message 4", "Message 2", "Message 0"]
    with pytest.raises(dialout.InvalidInput) as e:
        dialer.messages(state="SHOUTING")
    assert e.value.field == "state"
    with pytest.raises(dialout.InvalidInput) as e:
        dialer.messages(related="no colon")
    assert e.value.field == "related"


def test_cancel_and_resend(dialer):
    waiting = dialer.send("+420777123456", "Cancel me", queued=True)
    cancelled = dialer.cancel(waiting.id)
    assert cancelled.id == waiting.id and cancelled.is_final_state
    assert cancelled.state is State.ERROR
    with pytest.raises(dialout.Refused) as e:
        dialer.cancel(waiting.id)
    assert e.value.field == "id"

    done = dialer.send("+420777123456", "Again please")
    again = dialer.resend(done.id)
    assert again.id != done.id and again.resent_from == done.id
    assert again.content == done.content
