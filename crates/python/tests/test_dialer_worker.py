"""Dialer.worker: delivery in process, once, for some seconds, or until Ctrl-C."""
import _thread
import threading
import time

import pytest

from dialout import State


def test_worker_once_publishes_what_is_due(dialer):
    queued = [dialer.send("+42077712345%d" % i, "Queued %d" % i, queued=True) for i in range(3)]
    assert all(m.state is State.WAITING for m in queued)
    stats = dialer.worker(once=True)
    assert stats["claimed"] == 3 and stats["recorded"] == 3
    for m in queued:
        assert dialer.message(m.id).state is State.DEBUG
    assert dialer.worker(once=True)["claimed"] == 0


def test_worker_for_some_seconds_picks_up_new_messages(dialer):
    result = {}
    t = threading.Thread(target=lambda: result.update(dialer.worker(seconds=1.5, interval=0.05)))
    start = time.monotonic()
    t.start()
    time.sleep(0.3)
    m = dialer.send("+420777123456", "While it runs", queued=True)
    t.join()
    assert 1.5 <= time.monotonic() - start < 10
    assert result["claimed"] == 1
    assert dialer.message(m.id).state is State.DEBUG


def test_keyboard_interrupt_stops_the_worker_cleanly(dialer):
    threading.Timer(0.5, _thread.interrupt_main).start()
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        dialer.worker(interval=0.05)
    assert time.monotonic() - start < 10
    # Claims were released: a message queued now is published by the next worker.
    m = dialer.send("+420777123456", "After the interrupt", queued=True)
    assert dialer.worker(once=True)["claimed"] == 1
    assert dialer.message(m.id).state is State.DEBUG


def test_worker_arguments_are_checked(dialer):
    from dialout import InvalidInput

    with pytest.raises(InvalidInput) as e:
        dialer.worker(once=True, batch_size=0)
    assert e.value.field == "batch_size"
    with pytest.raises(InvalidInput) as e:
        dialer.worker(seconds=-1)
    assert e.value.field == "seconds"
