"""Grows a pymess SQLite database written by make_db.py to N dialer messages (for the import
benchmark), copying rows of every state with new ids and times, each with one related object.

    python3 bench_db.py pymess.sqlite3 200000
"""
import datetime
import sqlite3
import sys

path, total = sys.argv[1], int(sys.argv[2])
db = sqlite3.connect(path)
cols = [r[1] for r in db.execute("PRAGMA table_info(pymess_dialermessage)") if r[1] != "id"]
seed = db.execute("SELECT %s FROM pymess_dialermessage WHERE state NOT IN (12, 13)" % ", ".join(cols)).fetchall()
ct = db.execute("SELECT id FROM django_content_type WHERE model = 'user'").fetchone()[0]
rcols = [r[1] for r in db.execute("PRAGMA table_info(pymess_dialermessagerelatedobject)") if r[1] != "id"]
start = db.execute("SELECT max(id) FROM pymess_dialermessage").fetchone()[0]
rec = cols.index("recipient")
BASE = datetime.datetime(2025, 1, 1)
with db:
    for n in range(start + 1, total + 1):
        row = list(seed[n % len(seed)])
        row[rec] = "+420777%06d" % (n % 1000000)
        # Messages made 10 ms apart, as a busy pymess would have made them.
        at = (BASE + datetime.timedelta(milliseconds=10 * n)).strftime("%Y-%m-%d %H:%M:%S.%f")
        row[cols.index("created_at")] = row[cols.index("changed_at")] = at
        db.execute("INSERT INTO pymess_dialermessage (id, %s) VALUES (?, %s)" % (", ".join(cols), ", ".join("?" * len(cols))), [n] + row)
        values = {"created_at": row[cols.index("created_at")], "changed_at": row[cols.index("changed_at")],
                  "content_type_id": ct, "object_id": str(n), "dialer_message_id": n}
        db.execute("INSERT INTO pymess_dialermessagerelatedobject (%s) VALUES (%s)" % (", ".join(rcols), ", ".join("?" * len(rcols))), [values[c] for c in rcols])
print(db.execute("SELECT count(*) FROM pymess_dialermessage").fetchone()[0])
