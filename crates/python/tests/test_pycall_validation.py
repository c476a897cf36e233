"""Late validation: attributes hold what was given; every value dialout-callfile refuses makes
``is_valid()`` False and ``spool()`` raise ``ValidationError`` with the reason, leaving
nothing behind."""

import os

import pytest

import dialout.pycall as pc
from dialout.pycall import Action, Application, Call, CallFile, Context, ValidationError
from pycall_support import leftovers, spool_dirs


@pytest.fixture
def outgoing():
    return spool_dirs()[1]


def hello(outgoing, **call):
    return CallFile(
        Call("SIP/flowroute/18002223333", **call),
        Application("Playback", "hello-world"),
        spool_dir=outgoing,
    )


def test_the_modules_are_pycalls():
    import dialout.pycall.actions as actions
    import dialout.pycall.call as call
    import dialout.pycall.callfile as callfile
    import dialout.pycall.errors as errors

    assert pc.Call is call.Call and pc.CallFile is callfile.CallFile
    assert pc.Application is actions.Application and pc.Context is actions.Context
    assert issubclass(Application, Action) and issubclass(Context, Action)
    for name in (
        "InvalidTimeError",
        "NoSpoolPermissionError",
        "NoUserError",
        "NoUserPermissionError",
        "UnknownError",
        "ValidationError",
    ):
        cls = getattr(errors, name)
        assert cls is getattr(pc, name) and issubclass(cls, errors.PycallError)
    assert issubclass(errors.PycallError, Exception)
    assert CallFile.DEFAULT_SPOOL_DIR == "/var/spool/asterisk/outgoing"


def test_attributes_stick_as_given_even_when_invalid():
    vars = {"a\nApplication": "System"}
    c = Call("bad channel", callerid=5, variables=vars, account="", wait_time="10",
             retry_time=-1, max_retries=1.5)
    assert (c.channel, c.callerid, c.variables, c.account) == ("bad channel", 5, vars, "")
    assert c.variables is vars
    assert (c.wait_time, c.retry_time, c.max_retries) == ("10", -1, 1.5)
    a = Application("Play back", None)
    assert (a.application, a.data) == ("Play back", None)
    x = Context("survey", "s", "n")
    assert (x.context, x.extension, x.priority) == ("survey", "s", "n")
    cf = CallFile(c, a, archive="yes", user="no such", spool_dir="/nowhere")
    assert (cf.call, cf.action, cf.archive, cf.user, cf.spool_dir) == (c, a, "yes", "no such", "/nowhere")
    assert cf.tempdir is None
    assert cf.filename.endswith(".call") and len(cf.filename) == 41
    assert str(cf) == "CallFile-> archive: yes, user: no such, spool_dir: /nowhere"
    assert not c.is_valid() and not cf.is_valid()


def test_defaults():
    cf = CallFile(Call("SIP/a/1"), Application("Playback", "x"))
    assert (cf.archive, cf.user, cf.tempdir) == (None, None, None)
    assert cf.spool_dir == "/var/spool/asterisk/outgoing"
    assert str(cf) == "CallFile-> archive: None, user: None, spool_dir: /var/spool/asterisk/outgoing"
    c = Call("SIP/a/1")
    assert [c.callerid, c.variables, c.account, c.wait_time, c.retry_time, c.max_retries] == [None] * 6
    # Two objects, two names.
    assert CallFile(c, Application("Playback", "x")).filename != cf.filename


def test_validation_is_late_fixing_an_attribute_fixes_the_file(outgoing):
    cf = hello(outgoing)
    cf.call.channel = "SIP/x/1\nApplication: System"
    assert not cf.is_valid()
    cf.call.channel = "SIP/x/1"
    assert cf.is_valid()
    assert cf.contents.startswith("Channel: SIP/x/1\n")


BAD_CALLS = [
    # (Call keyword arguments, field, words of the reason)
    ({"channel": "SIP/x/1\nApplication: System"}, "channel", "control character 0x0A"),
    ({"channel": "SIP/x/1\rData: x"}, "channel", "control character 0x0D"),
    ({"channel": "Local/1000@internal&SIP/flowroute/18002223333"}, "channel", "contains '&'"),
    ({"channel": "18002223333"}, "channel", "Tech/Destination"),
    ({"channel": " SIP/x/1"}, "channel", "leading or trailing blank"),
    ({"channel": "SIP/x/1 #2"}, "channel", "'#'"),
    ({"channel": 18002223333}, "channel", "must be a str"),
    ({"channel": ""}, "channel", "missing"),
    ({"callerid": "Bob <1>\nApplication: System"}, "callerid", "control character"),
    ({"callerid": "'Test User' <5555555555>'"}, "callerid", "Asterisk would read"),
    ({"callerid": "+1 (555) 000-0005"}, "callerid", "Asterisk would read"),
    ({"callerid": "N" * 80 + " <1>"}, "callerid", "Asterisk keeps 79"),
    ({"variables": {"greeting": "x\nApplication: System"}}, "variable", "control character"),
    ({"variables": {"a=b": "x"}}, "variable", "not letters, digits"),
    ({"variables": {"FILE(/etc/x)": "y"}}, "variable", "dialplan function"),
    ({"variables": [("greeting", "x")]}, "variable", "must be a dict"),
    ({"account": "#7"}, "account", "comment"),
    ({"account": "a\tb\n"}, "account", "control character"),
    ({"wait_time": 0}, "wait_time", "below 1"),
    ({"wait_time": "10"}, "wait_time", "must be an int"),
    ({"wait_time": True}, "wait_time", "must be an int"),
    ({"wait_time": 10.0}, "wait_time", "must be an int"),
    ({"wait_time": 2147484}, "wait_time", "overflows"),
    ({"retry_time": -5}, "retry_time", "below 1"),
    ({"retry_time": 2**31}, "retry_time", "largest number"),
    ({"max_retries": -1}, "max_retries", "expires"),
    ({"max_retries": 2**70}, "max_retries", "largest number"),
]


@pytest.mark.parametrize("kwargs,field,reason", BAD_CALLS)
def test_refused_call_values(outgoing, kwargs, field, reason):
    kwargs = dict(kwargs)
    channel = kwargs.pop("channel", "SIP/flowroute/18002223333")
    cf = CallFile(Call(channel, **kwargs), Application("Playback", "hello-world"), spool_dir=outgoing)
    assert not cf.is_valid()
    with pytest.raises(ValidationError) as e:
        cf.spool()
    assert reason in str(e.value)
    assert str(e.value).startswith(field + ":")
    assert e.value.field == field
    assert leftovers(outgoing) == []
    if "function" not in reason:  # a function name is a valid Call the CallFile refuses
        assert not cf.call.is_valid()
        with pytest.raises(ValidationError, match=field):
            cf.call.render()
    with pytest.raises(ValidationError):
        cf.buildfile()
    with pytest.raises(ValidationError):
        cf.contents


BAD_ACTIONS = [
    (Application("Play back", "x"), "application", "not an application name"),
    (Application("System\nData: rm", "x"), "application", "not an application name"),
    (Application("A" * 32, "x"), "application", "keeps 31"),
    (Application("Playback", "hello\nApplication: System"), "data", "control character"),
    (Application("Playback", " hello"), "data", "leading or trailing blank"),
    (Application("Playback", None), "data", "must be a str"),
    (Context("survey", "s", "n"), "priority", "numeric priorities"),
    (Context("survey", "s", "0"), "priority", "below 1"),
    (Context("survey", "s", 0), "priority", "below 1"),
    (Context("survey\nApplication: System", "s", "1"), "context", "control character"),
    (Context("c" * 80, "s", "1"), "context", "keeps 79"),
    (Context("survey", "#s", "1"), "extension", "comment"),
    (Action(), "action", "not an Application or a Context"),
    ("Playback", "action", "not an Application or a Context"),
]


@pytest.mark.parametrize("action,field,reason", BAD_ACTIONS)
def test_refused_actions(outgoing, action, field, reason):
    cf = CallFile(Call("SIP/flowroute/18002223333"), action, spool_dir=outgoing)
    assert not cf.is_valid()
    with pytest.raises(ValidationError) as e:
        cf.spool()
    assert reason in str(e.value) and e.value.field == field
    assert leftovers(outgoing) == []


@pytest.mark.parametrize(
    "kwargs,field,reason",
    [
        ({"filename": "../escape.call"}, "filename", "contains '/'"),
        ({"filename": ".hidden.call"}, "filename", "starts with '.'"),
        ({"filename": "a\nb.call"}, "filename", "control character"),
        ({"user": "bad user"}, "user", "not a valid name"),
        ({"mode": 0o644}, "mode", "never world-readable"),
        ({"mode": 0o400}, "mode", "read and write"),
        ({"max_line": 500}, "max_line", "255"),
        ({"tempdir": "/nonexistent-dialout-staging"}, "tempdir", "does not exist"),
    ],
)
def test_refused_settings(outgoing, kwargs, field, reason):
    cf = CallFile(Call("SIP/a/1"), Application("Playback", "x"), spool_dir=outgoing, **kwargs)
    assert not cf.is_valid()
    with pytest.raises(ValidationError) as e:
        cf.spool()
    assert reason in str(e.value) and e.value.field == field, str(e.value)
    assert leftovers(outgoing) == []


def test_a_missing_spool_dir_is_invalid_as_in_pycall(outgoing):
    cf = hello(os.path.join(outgoing, "missing"))
    assert not cf.is_valid()
    with pytest.raises(ValidationError, match="spool_dir: directory .* does not exist"):
        cf.spool()


def test_long_lines_need_max_line_1022(outgoing):
    cf = CallFile(Call("SIP/a/1"), Application("Playback", "x" * 300), spool_dir=outgoing)
    with pytest.raises(ValidationError, match="longer than 255"):
        cf.spool()
    cf.max_line = 1022
    assert cf.is_valid()
    assert open(cf.spool()).read().endswith("x" * 300 + "\n")


def test_set_functions_need_allowing(outgoing):
    cf = hello(outgoing, variables={"CDR(userfield)": "x"})
    assert cf.call.is_valid() and not cf.is_valid()
    cf.allow_set_functions = True
    assert "Set: CDR(userfield)=x\n" in open(cf.spool()).read()


def test_semicolons_are_escaped_and_variables_go_through_str(outgoing):
    cf = CallFile(
        Call("SIP/a/1", variables={"n": 5, "flag": True}),
        Application("Playback", "a;b"),
        spool_dir=outgoing,
        archive=True,
    )
    assert cf.contents == (
        "Channel: SIP/a/1\nSet: n=5\nSet: flag=True\nApplication: Playback\nData: a\\;b\nArchive: yes\n"
    )
    assert cf.buildfile() == cf.contents.split("\n")[:-1]


def test_render_of_the_parts():
    assert Application("Playback", "").render() == ("Application: Playback", "Data: ")
    assert Context("survey", "s", "1").render() == ("Context: survey", "Extension: s", "Priority: 1")
    assert Context("survey", "s", 2).render()[2] == "Priority: 2"
    c = Call("SIP/a/1", callerid='"Test User" <5555555555>', variables={"x": "1"}, account="r")
    assert c.render() == [
        "Channel: SIP/a/1",
        'Callerid: "Test User" <5555555555>',
        "Set: x=1",
        "Account: r",
    ]
    # Falsy optional values are left out, as pycall does.
    assert Call("SIP/a/1", callerid="", variables={}, account="").render() == ["Channel: SIP/a/1"]
