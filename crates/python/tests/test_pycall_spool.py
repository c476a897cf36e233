"""``CallFile.spool()``: file times, ownership, names, and each pycall exception, with
nothing left behind after an error. Needs root (chown, and a switch to the user 'nobody')."""

import calendar
import os
import pwd
import shutil
import threading
import time as _time
from datetime import date, datetime, timedelta, timezone

import pytest

from dialout.pycall import (
    Application,
    Call,
    CallFile,
    InvalidTimeError,
    NoSpoolPermissionError,
    NoUserError,
    NoUserPermissionError,
    ValidationError,
)
from pycall_support import as_user, leftovers, need_root, read, spool_dirs, spooled

HELLO = "Channel: SIP/flowroute/18002223333\nApplication: Playback\nData: hello-world\n"


@pytest.fixture
def dirs():
    base, outgoing = spool_dirs()
    yield base, outgoing
    shutil.rmtree(base, ignore_errors=True)


def hello(outgoing, **kw):
    return CallFile(
        Call("SIP/flowroute/18002223333"), Application("Playback", "hello-world"),
        spool_dir=outgoing, **kw
    )


def test_spool_now_returns_the_path_and_leaves_no_staging_file(dirs):
    _, outgoing = dirs
    cf = hello(outgoing)
    path = cf.spool()
    assert path == os.path.join(outgoing, cf.filename)
    assert read(path) == HELLO
    assert leftovers(outgoing) == [cf.filename]
    assert os.stat(path).st_mode & 0o777 == 0o600


def test_naive_time_is_local_time_and_sets_atime_and_mtime(dirs):
    _, outgoing = dirs
    when = datetime.now() + timedelta(hours=2, microseconds=123)
    path = hello(outgoing).spool(when)
    st = os.stat(path)
    expected = int(_time.mktime(when.timetuple()))  # pycall's reading of a naive datetime
    assert (st.st_mtime, st.st_atime) == (expected, expected)


def test_aware_time_is_exact(dirs):
    _, outgoing = dirs
    when = datetime.now(timezone(timedelta(hours=-7))).replace(microsecond=0) + timedelta(days=1)
    path = hello(outgoing).spool(when)
    st = os.stat(path)
    assert st.st_mtime == when.timestamp() == st.st_atime
    assert st.st_mtime == calendar.timegm(when.astimezone(timezone.utc).timetuple())


def test_a_date_is_its_local_midnight(dirs):
    _, outgoing = dirs
    day = date.today() + timedelta(days=3)
    path = hello(outgoing).spool(day)
    assert os.stat(path).st_mtime == _time.mktime(day.timetuple())


@pytest.mark.parametrize(
    "when,reason",
    [
        (datetime(2010, 12, 1, 1, 0, 0), "in the past"),
        (datetime.now(timezone.utc) - timedelta(minutes=5), "in the past"),
        (_time.time() + 60, "must be a datetime"),
        ("2030-01-01 00:00", "must be a datetime"),
        (timedelta(hours=1), "must be a datetime"),
        (datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-14))), "out of range"),
    ],
)
def test_bad_times_raise_invalid_time_error(dirs, when, reason):
    _, outgoing = dirs
    with pytest.raises(InvalidTimeError, match=reason) as e:
        hello(outgoing).spool(when)
    assert e.value.field == "time"
    assert leftovers(outgoing) == []


def test_user_owns_the_file(dirs):
    need_root()
    _, outgoing = dirs
    nobody = pwd.getpwnam("nobody")
    path = hello(outgoing, user="nobody").spool()
    st = os.stat(path)
    assert (st.st_uid, st.st_gid) == (nobody.pw_uid, nobody.pw_gid)
    assert st.st_mode & 0o777 == 0o600


def test_missing_user_raises_no_user_error(dirs):
    _, outgoing = dirs
    with pytest.raises(NoUserError, match="no such user") as e:
        hello(outgoing, user="dialout-no-such-user").spool()
    assert e.value.field == "user"
    assert leftovers(outgoing) == []


def test_chown_without_permission_raises_no_user_permission_error(dirs):
    need_root()
    base, outgoing = dirs
    os.chmod(outgoing, 0o777)  # nobody may spool, but not give files to root
    result = as_user("nobody", lambda: hello(outgoing, user="root").spool())
    assert result[:2] == ("raised", "NoUserPermissionError"), result
    assert "chown needs root or CAP_CHOWN" in result[2]
    assert leftovers(outgoing) == []


def test_unwritable_spool_dir_raises_no_spool_permission_error(dirs):
    need_root()
    base, outgoing = dirs  # root's, 0755: nobody cannot create the staging directory
    result = as_user("nobody", lambda: hello(outgoing).spool())
    assert result[:2] == ("raised", "NoSpoolPermissionError"), result
    assert "no permission" in result[2]
    # With a writable tempdir, the rename into the spool directory is what is refused.
    staging = os.path.join(base, "staging")
    os.mkdir(staging)
    os.chown(staging, pwd.getpwnam("nobody").pw_uid, -1)
    result = as_user("nobody", lambda: hello(outgoing, tempdir=staging).spool())
    assert result[:2] == ("raised", "NoSpoolPermissionError"), result
    assert "rename files into" in result[2]
    assert leftovers(outgoing) == [] and os.listdir(staging) == []


def test_an_existing_file_is_never_replaced(dirs):
    _, outgoing = dirs
    target = os.path.join(outgoing, "test.call")
    with open(target, "w") as f:
        f.write("being dialed\n")
    with pytest.raises(NoSpoolPermissionError, match="already exists") as e:
        hello(outgoing, filename="test.call").spool()
    assert e.value.field == "filename"
    assert read(target) == "being dialed\n"
    assert leftovers(outgoing) == ["test.call"]


def test_a_tempdir_on_another_filesystem_is_refused_not_copied(dirs):
    _, outgoing = dirs
    other = "/dev/shm"
    assert os.path.isdir(other) and os.stat(other).st_dev != os.stat(outgoing).st_dev, (
        "this test needs /dev/shm on a filesystem other than /tmp's"
    )
    with pytest.raises(NoSpoolPermissionError, match="EXDEV") as e:
        hello(outgoing, filename="x.call", tempdir=other).spool()
    assert e.value.field == "tempdir"
    assert leftovers(outgoing) == []
    assert not [n for n in os.listdir(other) if n.endswith("-x.call")]


def test_spooling_again_makes_a_new_file_under_a_new_name(dirs):
    _, outgoing = dirs
    cf = hello(outgoing)
    first_name = cf.filename
    first = cf.spool()
    assert cf.filename == first_name
    second = cf.spool()
    assert first != second and cf.filename != first_name
    assert spooled(outgoing) == sorted([first_name, cf.filename])
    # A name given by the caller is kept: a second spool would replace a file, so it fails.
    named = hello(outgoing, filename="fixed.call")
    named.spool()
    with pytest.raises(NoSpoolPermissionError):
        named.spool()


def test_archive_mode_and_durable(dirs):
    _, outgoing = dirs
    path = hello(outgoing, archive=True, mode=0o660, durable=True).spool()
    assert read(path) == HELLO + "Archive: yes\n"
    assert os.stat(path).st_mode & 0o777 == 0o660


def test_writefile_writes_into_the_tempdir_only(dirs):
    base, outgoing = dirs
    cf = hello(outgoing, filename="w.call", tempdir=base)
    path = cf.writefile()
    assert path == os.path.join(base, "w.call")
    assert read(path) == HELLO and os.stat(path).st_mode & 0o777 == 0o600
    assert spooled(outgoing) == []
    # Without a tempdir: the staging directory inside the spool directory, which Asterisk skips.
    path = hello(outgoing).writefile()
    assert os.path.dirname(path) == os.path.join(outgoing, ".dialout-staging")
    assert spooled(outgoing) == []
    with pytest.raises(ValidationError):
        CallFile(Call("x"), Application("Playback", "x"), spool_dir=outgoing).writefile()


def test_spool_runs_beside_other_threads(dirs):
    # Many threads spooling at once: every file lands once, whole.
    _, outgoing = dirs
    paths = []

    def work():
        for _ in range(50):
            paths.append(hello(outgoing).spool())

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(paths)) == 200 and len(spooled(outgoing)) == 200
    assert all(read(p) == HELLO for p in paths[:20])
