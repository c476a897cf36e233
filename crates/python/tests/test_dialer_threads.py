"""One Dialer shared between threads; the GIL is released while the store works."""
import threading
import time

from dialout import State


def test_one_dialer_many_threads(dialer):
    ids, errors = [], []
    lock = threading.Lock()

    def sender(t):
        try:
            for i in range(25):
                m = dialer.send("+4207771%02d%03d" % (t, i), "Thread %d call %d" % (t, i),
                                ["thread:%d" % t])
                with lock:
                    ids.append(m.id)
        except Exception as e:  # reported below, with the thread's name
            errors.append((t, e))

    threads = [threading.Thread(target=sender, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(ids) == 200 and len(set(ids)) == 200
    stored = [m for p in dialer.messages(page_size=64) for m in p]
    assert len(stored) == 200
    assert all(m.state is State.DEBUG for m in stored)
    assert sorted({m.related_objects[0] for m in stored}) == ["thread:%d" % t for t in range(8)]


def test_gil_released_while_the_worker_runs(dialer):
    # The worker holds the calling thread for a second; Python code in another thread
    # keeps running meanwhile only if the GIL was released.
    ticks = []
    stop = threading.Event()

    def tick():
        while not stop.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.01)

    t = threading.Thread(target=tick)
    t.start()
    start = time.monotonic()
    dialer.worker(seconds=1.0)
    stop.set()
    t.join()
    assert time.monotonic() - start >= 1.0
    assert len([x for x in ticks if x > start + 0.1]) >= 20
