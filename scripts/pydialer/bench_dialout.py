"""Messages per second through dialout.Dialer.send from Python, one at a time, published at
once by the Dummy backend: the same messages as send_bench's `single` series.

    python bench_dialout.py N DIR
"""
import os
import sys
import time

import dialout

n, folder = int(sys.argv[1]), sys.argv[2]
d = dialout.Dialer("sqlite://%s" % os.path.join(folder, "dialout-py-%d.db" % time.time_ns()))
d.send("+420777123456", "Warm-up: libphonenumber's metadata loads on first use")
start = time.perf_counter()
for i in range(n):
    m = d.send("+420777%06d" % (i % 1000000), "Your order has shipped", ["order:%d" % i])
    assert m.is_final_state
print(n / (time.perf_counter() - start))
