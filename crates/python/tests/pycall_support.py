"""Helpers shared by the test_pycall_*.py files (not a test module)."""

import os
import pwd
import tempfile


def need_root():
    """The ownership and permission tests chown files and drop to another user."""
    assert os.geteuid() == 0, (
        "these tests chown files and switch to the user 'nobody': run pytest as root "
        "(./scripts/test does on CI)"
    )


def spool_dirs():
    """A fresh ``outgoing`` directory in a directory every user may traverse."""
    base = tempfile.mkdtemp(prefix="dialout-pycall-")
    os.chmod(base, 0o755)
    outgoing = os.path.join(base, "outgoing")
    os.mkdir(outgoing)
    return base, outgoing


def spooled(outgoing):
    """The regular files directly in ``outgoing`` (what Asterisk would dial), by name."""
    return sorted(
        e.name for e in os.scandir(outgoing) if e.is_file(follow_symlinks=False)
    )


def leftovers(outgoing):
    """Everything below ``outgoing``: files anywhere, staging directory included."""
    out = []
    for root, _dirs, files in os.walk(outgoing):
        out += [os.path.relpath(os.path.join(root, f), outgoing) for f in files]
    return sorted(out)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def as_user(name, fn):
    """Runs ``fn()`` in a forked child switched to user ``name`` and returns what it
    returned, or ``("raised", class name, message)``."""
    import pickle

    pw = pwd.getpwnam(name)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(r)
        try:
            os.setgroups([])
            os.setgid(pw.pw_gid)
            os.setuid(pw.pw_uid)
            try:
                result = ("returned", fn())
            except Exception as e:  # noqa: BLE001 - reported to the parent
                result = ("raised", type(e).__name__, str(e))
            os.write(w, pickle.dumps(result))
        finally:
            os._exit(0)
    os.close(w)
    data = b""
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    assert data, "the child run as %s reported nothing" % name
    return pickle.loads(data)
