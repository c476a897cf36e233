"""CallFile.spool() rate: dialout.pycall against pycall 2.3.2, side by side, one run.

    target/python-venv/bin/python crates/python/bench/spool_bench.py [N] [BASE_DIR]

Run it with a Python where ``dialout`` is installed (``pip install ./crates/python``). The
pycall half runs in its own virtual environment (target/pycall-venv, made on first use with
the issue's pins: pycall==2.3.2 path==16.16.0 path.py==12.5.0), in a child process running
this same file with ``--pycall``.

Each series spools N of the guide's hello-world call files (a unique number each), building
Call, Application and CallFile per file as a script does, into a fresh directory under
BASE_DIR (default: a new directory in /tmp, the filesystem of pycall's temp files, so its
``move`` is a rename). The two are interleaved twice; the best of each is compared with the
goal (dialout >= 2x pycall). Nothing is deleted during or after the run (deleting many files
slows file creation on this disk for a minute): remove BASE_DIR yourself.
"""

import json
import os
import subprocess
import sys
import tempfile
import time

PINS = ["pycall==2.3.2", "path==16.16.0", "path.py==12.5.0"]
GOAL = 2.0


def series(lib, n, outgoing):
    """Spools n files with the module `lib` (dialout.pycall or pycall); returns files/s."""
    Call, Application, CallFile = lib.Call, lib.Application, lib.CallFile
    os.mkdir(outgoing)
    start = time.perf_counter()
    for i in range(n):
        c = Call("SIP/flowroute/%d" % (18002220000 + i))
        a = Application("Playback", "hello-world")
        cf = CallFile(c, a, spool_dir=outgoing)
        cf.spool()
    elapsed = time.perf_counter() - start
    spooled = sum(1 for e in os.scandir(outgoing) if e.is_file(follow_symlinks=False))
    assert spooled == n, "%d of %d files spooled" % (spooled, n)
    return n / elapsed


def pycall_venv(root):
    venv = os.path.join(root, "target", "pycall-venv")
    py = os.path.join(venv, "bin", "python")
    if not os.path.exists(py):
        print("making %s with %s" % (venv, " ".join(PINS)), file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        subprocess.run([py, "-m", "pip", "install", "-q"] + PINS, check=True)
    return py


def load():
    return "%.2f %.2f %.2f" % os.getloadavg()


def main():
    if sys.argv[1:2] == ["--pycall"]:
        import pycall

        n, outgoing = int(sys.argv[2]), sys.argv[3]
        print(json.dumps(series(pycall, n, outgoing)))
        return
    import dialout.pycall

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    base = sys.argv[2] if len(sys.argv) > 2 else tempfile.mkdtemp(prefix="spool-bench-")
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
    py = pycall_venv(root)
    print("N = %d per series, into %s; load average before: %s" % (n, base, load()))
    best = {"dialout.pycall": 0.0, "pycall 2.3.2": 0.0}
    for round_ in (1, 2):
        out = os.path.join(base, "dialout-%d" % round_)
        rate = series(dialout.pycall, n, out)
        best["dialout.pycall"] = max(best["dialout.pycall"], rate)
        print("  %-22s #%d %10.0f files/s" % ("dialout.pycall", round_, rate))
        out = os.path.join(base, "pycall-%d" % round_)
        rate = float(
            subprocess.run(
                [py, __file__, "--pycall", str(n), out], check=True, capture_output=True, text=True
            ).stdout
        )
        best["pycall 2.3.2"] = max(best["pycall 2.3.2"], rate)
        print("  %-22s #%d %10.0f files/s" % ("pycall 2.3.2", round_, rate))
    print()
    print("%-26s %10s" % ("series (best run)", "files/s"))
    for name, rate in best.items():
        print("%-26s %10.0f" % (name, rate))
    ratio = best["dialout.pycall"] / best["pycall 2.3.2"]
    verdict = "met" if ratio >= GOAL else "NOT met"
    print("dialout.pycall / pycall 2.3.2 = %.2fx; goal >= %.0fx: %s" % (ratio, GOAL, verdict))
    print("load average after: %s; files left in %s" % (load(), base))


if __name__ == "__main__":
    main()
