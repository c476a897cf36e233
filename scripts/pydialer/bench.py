"""dialout.Dialer.send from Python beside the Rust in-process rate (send_bench `single`) and
django-pymess 0.7.6, in interleaved rounds on the same machine (see scripts/pydialer-bench).

    python3 bench.py ROUNDS DIALOUT_PYTHON PYMESS_PYTHON SEND_BENCH_BINARY
"""
import os
import re
import statistics
import subprocess
import sys
import tempfile

rounds, dialout_py, pymess_py, send_bench = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
here = os.path.dirname(os.path.abspath(__file__))
N_RUST, N_PY, N_PYMESS = 5000, 5000, 1000


def run(cmd, env=None):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    return out


rows = {"rust": [], "python": [], "pymess": []}
with tempfile.TemporaryDirectory() as tmp:
    for r in range(rounds):
        subprocess.run(["sync"], check=True)
        out = run([send_bench, "1", "1", "single"])
        rows["rust"].append(float(re.search(r"single: (\d+)", out).group(1)))
        subprocess.run(["sync"], check=True)
        rows["python"].append(float(run([dialout_py, os.path.join(here, "bench_dialout.py"),
                                         str(N_PY), tmp])))
        subprocess.run(["sync"], check=True)
        env = dict(os.environ, PYMESS_SQLITE=os.path.join(tmp, "pymess-%d.sqlite3" % r))
        rows["pymess"].append(float(run([pymess_py, os.path.join(here, "bench_pymess.py"),
                                         str(N_PYMESS)], env=env)))
        print("round %d: Rust %.0f/s, Python %.0f/s, django-pymess %.0f/s" % (
            r + 1, rows["rust"][-1], rows["python"][-1], rows["pymess"][-1]), file=sys.stderr)

best = {k: max(v) for k, v in rows.items()}
py_rust = statistics.median(p / q for p, q in zip(rows["python"], rows["rust"]))
py_pymess = statistics.median(p / q for p, q in zip(rows["python"], rows["pymess"]))
print("SQLite (WAL, synchronous=NORMAL), Dummy backend, one send at a time, published at once;"
      " best of %d interleaved rounds (messages/s)" % rounds)
print("  Rust Dialer::send (send_bench single, %d)        %8.0f" % (N_RUST, best["rust"]))
print("  Python dialout.Dialer.send (%d)                  %8.0f  %.2f x Rust (goal >= 0.7)"
      % (N_PY, best["python"], best["python"] / best["rust"]))
print("  django-pymess 0.7.6 send (%d)                    %8.0f  Python is %.0f x it (goal >= 30)"
      % (N_PYMESS, best["pymess"], best["python"] / best["pymess"]))
print("median over the rounds of each round's ratio: Python/Rust %.2f, Python/django-pymess %.0f"
      % (py_rust, py_pymess))
