"""Messages per second through django-pymess 0.7.6's dialer send, one at a time, published at
once by its Dummy backend, on SQLite with dialout's settings (WAL, synchronous=NORMAL).

    PYMESS_SQLITE=/tmp/x.sqlite3 python bench_pymess.py N
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pymess"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.backends.signals import connection_created  # noqa: E402


def same_settings(sender, connection, **kwargs):
    if connection.vendor == "sqlite":
        with connection.cursor() as c:
            c.execute("PRAGMA journal_mode=WAL")
            c.execute("PRAGMA synchronous=NORMAL")


connection_created.connect(same_settings)

from pymess.backend.dialer import send  # noqa: E402

call_command("migrate", verbosity=0)
n = int(sys.argv[1])
user = User.objects.create(username="bench")  # a related object, as dialout's order:N
send("+420777123456", "Warm-up", related_objects=[user], send_immediately=True)
start = time.perf_counter()
for i in range(n):
    send("+420777%06d" % (i % 1000000), "Your order has shipped", related_objects=[user],
         send_immediately=True)
print(n / (time.perf_counter() - start))
with connection.cursor() as c:
    c.execute("PRAGMA journal_mode")
    assert c.fetchone()[0] == "wal"
