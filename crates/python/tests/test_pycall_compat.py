"""dialout.pycall beside the real pycall 2.3.2 (installed from PyPI by ./scripts/test): the
same public names, signatures, defaults and exception tree, and, for values both accept,
the same file (dialout's ends with a newline; see the README's differences)."""

import inspect
from datetime import datetime

import pytest

import dialout.pycall as ours

# pycall 2.3.2 calls `path` methods that path 16 deprecates.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

try:
    import pycall as theirs
except ImportError:  # pragma: no cover - reported as a failure, never skipped
    theirs = None


@pytest.fixture(autouse=True)
def need_pycall():
    assert theirs is not None, (
        "pycall 2.3.2 is missing: pip install pycall==2.3.2 path==16.16.0 path.py==12.5.0 "
        "(./scripts/test installs it into target/python-venv)"
    )


def public(module):
    return sorted(n for n in dir(module) if not n.startswith("_") and n[0].isupper())


def test_same_public_names():
    assert public(ours) == public(theirs)
    for sub in ("call", "actions", "callfile", "errors"):
        mine = __import__("dialout.pycall." + sub, fromlist=["x"])
        real = __import__("pycall." + sub, fromlist=["x"])
        real_names = {n for n in public(real) if getattr(real, n).__module__ == real.__name__}
        assert real_names <= set(public(mine)), (sub, real_names - set(public(mine)))


@pytest.mark.parametrize(
    "name,method",
    [
        ("Call", "__init__"),
        ("Call", "is_valid"),
        ("Call", "render"),
        ("Application", "__init__"),
        ("Application", "render"),
        ("Context", "__init__"),
        ("CallFile", "__init__"),
        ("CallFile", "is_valid"),
        ("CallFile", "buildfile"),
        ("CallFile", "writefile"),
        ("CallFile", "spool"),
    ],
)
def test_same_signatures(name, method):
    real = inspect.signature(getattr(getattr(theirs, name), method))
    mine = inspect.signature(getattr(getattr(ours, name), method))
    positional = [p for p in mine.parameters.values() if p.kind != p.KEYWORD_ONLY]
    # dialout adds keyword-only settings after pycall's parameters, nothing else.
    assert [(p.name, p.default) for p in positional] == [
        (p.name, p.default) for p in real.parameters.values()
    ]


def test_same_exception_tree():
    for name in public(theirs.errors):
        real, mine = getattr(theirs.errors, name), getattr(ours.errors, name)
        assert [c.__name__ for c in mine.__mro__[:-2]] == [c.__name__ for c in real.__mro__[:-2]]


def build(lib, spool_dir, **kw):
    c = lib.Call(
        "SIP/flowroute/18002223333",
        callerid='"Test User" <5555555555>',
        variables={"greeting": "tt-monkeys", "n": 5},
        account="randall",
        wait_time=10,
        retry_time=60,
        max_retries=2,
    )
    return lib.CallFile(c, lib.Context("survey", "s", "1"), archive=True, spool_dir=spool_dir, **kw)


def test_same_defaults_attributes_and_str(tmp_path):
    real, mine = build(theirs, str(tmp_path)), build(ours, str(tmp_path))
    for attr in ("archive", "user", "spool_dir"):
        assert getattr(mine, attr) == getattr(real, attr)
    for attr in ("channel", "callerid", "variables", "account", "wait_time", "retry_time", "max_retries"):
        assert getattr(mine.call, attr) == getattr(real.call, attr)
    assert str(mine) == str(real)
    assert ours.CallFile.DEFAULT_SPOOL_DIR == theirs.CallFile.DEFAULT_SPOOL_DIR
    bare = (ours.CallFile(mine.call, mine.action), theirs.CallFile(real.call, real.action))
    assert str(bare[0]) == str(bare[1])


def test_same_file_for_valid_values(tmp_path):
    real, mine = build(theirs, str(tmp_path)), build(ours, str(tmp_path))
    assert mine.contents == real.contents + "\n"
    assert mine.buildfile() == real.buildfile()
    assert mine.call.render() == real.call.render()
    assert mine.action.render() == real.action.render()
    app = ("Playback", "hello-world")
    assert ours.Application(*app).render() == theirs.Application(*app).render()


def test_same_file_and_times_on_disk(tmp_path):
    when = datetime(2040, 5, 6, 7, 8, 9)
    out_real, out_mine = tmp_path / "real", tmp_path / "mine"
    out_real.mkdir()
    out_mine.mkdir()
    real = build(theirs, str(out_real), filename="x.call", tempdir=str(tmp_path))
    real.spool(when)
    mine = build(ours, str(out_mine), filename="x.call")
    mine.spool(when)
    a, b = (out_real / "x.call"), (out_mine / "x.call")
    assert b.stat().st_mtime == a.stat().st_mtime and b.stat().st_atime == a.stat().st_atime
    assert b.read_text() == a.read_text() + "\n"


def test_invalid_in_pycall_is_invalid_here(tmp_path):
    for kw in ({"variables": ["x"]}, {"wait_time": "10"}, {"retry_time": 1.5}, {"max_retries": "2"}):
        c_real, c_mine = theirs.Call("SIP/a/1", **kw), ours.Call("SIP/a/1", **kw)
        assert not c_real.is_valid() and not c_mine.is_valid(), kw
    missing = str(tmp_path / "missing")
    a = ("Playback", "x")
    assert not theirs.CallFile(theirs.Call("SIP/a/1"), theirs.Application(*a), spool_dir=missing).is_valid()
    assert not ours.CallFile(ours.Call("SIP/a/1"), ours.Application(*a), spool_dir=missing).is_valid()
