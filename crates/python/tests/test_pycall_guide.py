"""Every Python example of pycall's usage guide, with only its import line changed
(``pycall`` -> ``dialout.pycall``). The examples spool into ``CallFile.DEFAULT_SPOOL_DIR``,
which each test points at a fresh directory (the class attribute, as pycall reads it).

Two examples of the guide are broken in pycall itself (a name used without import or
definition): they raise the very same ``NameError`` here as with the real pycall 2.3.2
(installed beside, see test_pycall_compat.py), and a variant with the missing name
supplied shows what dialout then does. The snippets that write ``CallFile(..., x=y)`` get
the hello-world call and action in place of the guide's ``...``.
"""

import os
import pwd
import sys
import time
from datetime import datetime, timedelta

import pytest

from dialout.pycall.callfile import CallFile
from dialout.pycall.errors import InvalidTimeError, NoUserError, ValidationError
from pycall_support import read, spool_dirs, spooled

HELLO = "Channel: SIP/flowroute/18002223333\nApplication: Playback\nData: hello-world\n"


@pytest.fixture
def outgoing(monkeypatch):
    _base, out = spool_dirs()
    monkeypatch.setattr(CallFile, "DEFAULT_SPOOL_DIR", out)
    return out


def run(source, argv=None, extra=None):
    """Runs an example as a script (``__name__ == '__main__'``) and returns its namespace."""
    ns = {"__name__": "__main__"}
    ns.update(extra or {})
    old = sys.argv
    sys.argv = argv or ["call.py"]
    try:
        exec(compile(source, "<guide example>", "exec"), ns)
    finally:
        sys.argv = old
    return ns


def only_file(outgoing):
    files = spooled(outgoing)
    assert len(files) == 1, files
    return os.path.join(outgoing, files[0])


HELLO_WORLD = """
import sys
from dialout.pycall import CallFile, Call, Application

def call(number):
	c = Call('SIP/flowroute/%s' % number)
	a = Application('Playback', 'hello-world')
	cf = CallFile(c, a)
	cf.spool()

if __name__ == '__main__':
	call(sys.argv[1])
"""


def test_hello_world(outgoing):
    run(HELLO_WORLD, ["call.py", "18002223333"])
    path = only_file(outgoing)
    assert read(path) == HELLO
    assert path.endswith(".call")
    assert os.stat(path).st_mode & 0o777 == 0o600


IN_ONE_HOUR = """
import sys
from datetime import datetime
from datetime import timedelta
from dialout.pycall import CallFile, Call, Application

def call(number, time=None):
	c = Call('SIP/flowroute/%s' % number)
	a = Application('Playback', 'hello-world')
	cf = CallFile(c, a)
	cf.spool(time)

if __name__ == '__main__':
	call(sys.argv[1], datetime.now()+timedelta(hours=1))
"""


def test_scheduling_in_one_hour(outgoing):
    before = time.time()
    run(IN_ONE_HOUR, ["call.py", "18002223333"])
    path = only_file(outgoing)
    st = os.stat(path)  # before reading: a read moves an atime that is not after the mtime
    assert read(path) == HELLO
    # pycall's time: the naive datetime read as local time, whole seconds.
    assert before + 3600 - 1 <= st.st_mtime <= time.time() + 3600
    assert st.st_mtime == int(st.st_mtime)
    assert st.st_atime == st.st_mtime


FIXED_DATE = """
import sys
from datetime import datetime
from dialout.pycall.callfile import CallFile

def call(number, time=None):
	c = Call('SIP/flowroute/%s' % number)
	a = Application('Playback', 'hello-world')
	cf = CallFile(c, a)
	cf.spool(time)

if __name__ == '__main__':
	call(sys.argv[1], datetime(2010, 12, 1, 1, 0, 0))
"""


def test_fixed_date_is_broken_in_the_guide_as_in_pycall(outgoing):
    # The guide imports only CallFile, then uses Call: pycall raises this NameError too.
    with pytest.raises(NameError, match="'Call' is not defined"):
        run(FIXED_DATE, ["call.py", "18002223333"])
    assert spooled(outgoing) == []
    with pytest.raises(NameError, match="'Call' is not defined"):
        run(FIXED_DATE.replace("dialout.pycall", "pycall"), ["call.py", "18002223333"])


def test_fixed_date_with_the_missing_imports_refuses_the_past(outgoing):
    from dialout.pycall import Application, Call

    # 2010 has passed: pycall would spool it to be dialed at once; dialout refuses.
    with pytest.raises(InvalidTimeError, match="in the past"):
        run(FIXED_DATE, ["call.py", "18002223333"], {"Call": Call, "Application": Application})
    assert spooled(outgoing) == []


PERMISSIONS = """
import sys
from dialout.pycall import CallFile, Call, Application

def call(number):
	c = Call('SIP/flowroute/%s' % number)
	a = Application('Playback', 'hello-world')
	cf = CallFile(c, a, user='asterisk')
	cf.spool(time)

if __name__ == '__main__':
	call(sys.argv[1])
"""


def test_permissions_is_broken_in_the_guide_as_in_pycall(outgoing):
    # `time` is never defined in the guide's example: pycall raises this NameError too.
    with pytest.raises(NameError, match="'time' is not defined"):
        run(PERMISSIONS, ["call.py", "18002223333"])
    assert spooled(outgoing) == []
    with pytest.raises(NameError, match="'time' is not defined"):
        run(PERMISSIONS.replace("dialout.pycall", "pycall"), ["call.py", "18002223333"])


def test_permissions_with_time_defined(outgoing):
    try:
        asterisk = pwd.getpwnam("asterisk")
    except KeyError:
        asterisk = None
    if asterisk is None:
        # The guide's note: without Asterisk installed, NoUserError.
        with pytest.raises(NoUserError, match="asterisk"):
            run(PERMISSIONS, ["call.py", "18002223333"], {"time": None})
        assert spooled(outgoing) == []
    else:
        run(PERMISSIONS, ["call.py", "18002223333"], {"time": None})
        assert os.stat(only_file(outgoing)).st_uid == asterisk.pw_uid


CONTEXT = """
from dialout.pycall import CallFile, Call, Context

c = Call('SIP/flowroute/18002223333')
con = Context('survey', 's', '1')
cf = CallFile(c, con)
cf.spool()
"""


def test_complex_call_logic(outgoing):
    run(CONTEXT)
    assert read(only_file(outgoing)) == (
        "Channel: SIP/flowroute/18002223333\nContext: survey\nExtension: s\nPriority: 1\n"
    )


CALLERID = """
from dialout.pycall import Call
c = Call('SIP/flowroute/18002223333', callerid="'Test User' <5555555555>'")
"""


def test_callerid_snippet_keeps_the_value_and_refuses_it_late():
    c = run(CALLERID)["c"]
    assert c.callerid == "'Test User' <5555555555>'"
    # Asterisk would show the name with its apostrophes and drop the stray quote.
    assert not c.is_valid()
    with pytest.raises(ValidationError, match="callerid: Asterisk would read") as e:
        c.render()
    assert e.value.field == "callerid"


VARIABLES = """
from dialout.pycall import CallFile, Call, Context

vars = {'greeting': 'tt-monkeys'}

c = Call('SIP/flowroute/18882223333', variables=vars)
x = Context('survey', 's', '1')
cf = CallFile(c, x)
cf.spool()
"""


def test_variables(outgoing):
    run(VARIABLES)
    assert read(only_file(outgoing)) == (
        "Channel: SIP/flowroute/18882223333\nSet: greeting=tt-monkeys\n"
        "Context: survey\nExtension: s\nPriority: 1\n"
    )


ACCOUNT = """
from dialout.pycall import Call
c = Call('SIP/flowroute/18002223333', account='randall')
"""

TIMING = """
from dialout.pycall import Call
c = Call('SIP/flowroute/18002223333', wait_time=10, retry_time=60,
		max_retries=2)
"""


def test_account_and_timing_snippets():
    c = run(ACCOUNT)["c"]
    assert c.account == "randall"
    assert c.render() == ["Channel: SIP/flowroute/18002223333", "Account: randall"]
    c = run(TIMING)["c"]
    assert (c.wait_time, c.retry_time, c.max_retries) == (10, 60, 2)
    assert c.render() == [
        "Channel: SIP/flowroute/18002223333",
        "WaitTime: 10",
        "RetryTime: 60",
        "Maxretries: 2",
    ]


PLACEHOLDER = """
from dialout.pycall import CallFile, Call, Application
c = Call('SIP/flowroute/18002223333')
a = Application('Playback', 'hello-world')
"""


def test_archive_snippet(outgoing):
    cf = run(PLACEHOLDER + "cf = CallFile(c, a, archive=True)\n")["cf"]
    assert cf.archive is True
    cf.spool()
    assert read(only_file(outgoing)) == HELLO + "Archive: yes\n"


def test_filename_and_tempdir_snippet(outgoing):
    cf = run(PLACEHOLDER + "cf = CallFile(c, a, filename='test.call', tempdir='/tmp')\n")["cf"]
    assert (cf.filename, cf.tempdir) == ("test.call", "/tmp")
    path = cf.spool()
    assert path == os.path.join(outgoing, "test.call")
    assert spooled(outgoing) == ["test.call"]
    assert read(path) == HELLO
    assert not [n for n in os.listdir("/tmp") if n.endswith("-test.call")]


def test_spool_dir_snippet():
    os.makedirs("/tmp/outgoing", exist_ok=True)
    cf = run(PLACEHOLDER + "cf = CallFile(c, a, spool_dir='/tmp/outgoing')\n")["cf"]
    assert cf.spool_dir == "/tmp/outgoing"
    path = cf.spool()
    try:
        assert path == os.path.join("/tmp/outgoing", cf.filename)
        assert read(path) == HELLO
    finally:
        os.remove(path)
