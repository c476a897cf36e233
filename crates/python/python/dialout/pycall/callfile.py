"""``CallFile``: a call plus an action, spooled atomically into Asterisk's spool directory."""

import calendar
import datetime as _dt
import os
import time as _time

from dialout import _native
from dialout.pycall.errors import InvalidTimeError, ValidationError

__all__ = ["CallFile"]


def _invalid_time(message):
    e = InvalidTimeError(message)
    e.field = "time"
    return e


def _epoch(time):
    """Unix seconds of ``time`` (None: now). Naive values are local time, as pycall reads
    them; aware ones are exact. Sub-second parts are dropped (Asterisk reads whole seconds)."""
    if time is None:
        return None
    try:
        if isinstance(time, _dt.datetime) and time.utcoffset() is not None:
            return calendar.timegm(time.utctimetuple())
        if isinstance(time, _dt.date):
            return int(_time.mktime(time.timetuple()))
    except (OverflowError, ValueError) as e:
        raise _invalid_time("time: %r is out of range: %s" % (time, e)) from None
    raise _invalid_time(
        "time: must be a datetime (naive = local time, or aware) or None, not %s"
        % type(time).__name__
    )


class CallFile(object):
    """A call file: a :class:`~dialout.pycall.Call`, an action, and where to spool it.

    Attributes hold exactly what was given (``spool_dir`` falls back to
    :attr:`DEFAULT_SPOOL_DIR`, ``filename`` to a unique ``<UUID>.call``); they are checked by
    :meth:`is_valid`, :meth:`buildfile` and :meth:`spool`.

    :param call: a :class:`~dialout.pycall.Call`.
    :param action: an :class:`~dialout.pycall.Application` or :class:`~dialout.pycall.Context`.
    :param archive: truthy: Asterisk keeps the finished file in ``outgoing_done`` with a
        ``Status:`` line.
    :param filename: the name in the spool directory (no ``/``, no leading ``.``); an existing
        file of that name is never replaced.
    :param tempdir: where the file is written before its rename; must be on the spool
        directory's filesystem. Default: ``<spool_dir>/.dialout-staging`` (Asterisk skips
        subdirectories), made when missing.
    :param user: the system user to own the file (the Asterisk user); needs root or CAP_CHOWN.
    :param spool_dir: Asterisk's ``outgoing`` directory.

    Keyword-only settings pycall lacks:

    :param mode: the file's mode, ``0o600`` (owner only) by default; group bits are allowed,
        world bits never.
    :param max_line: the longest line the target Asterisk reads whole: 255 (any version,
        the default) or 1022 (Asterisk 13.15 / 14.4 and later).
    :param allow_set_functions: allow dialplan functions such as ``CDR(userfield)`` as
        variable names (Asterisk evaluates them; ``FILE()`` writes files).
    :param durable: fsync the file and the spool directory, so that a spooled call survives
        a crash (pycall does not; much slower).
    """

    #: Asterisk's default spool directory.
    DEFAULT_SPOOL_DIR = _native.DEFAULT_SPOOL_DIR

    def __init__(
        self,
        call,
        action,
        archive=None,
        filename=None,
        tempdir=None,
        user=None,
        spool_dir=None,
        *,
        mode=0o600,
        max_line=255,
        allow_set_functions=False,
        durable=False,
    ):
        self.call = call
        self.action = action
        self.archive = archive
        self.user = user
        self.spool_dir = spool_dir or self.DEFAULT_SPOOL_DIR
        self.tempdir = tempdir
        if filename:
            self.filename = filename
            self._auto_name = None
        else:
            self.filename = self._auto_name = _native.pycall_new_name()
        self._auto_spooled = False
        self.mode = mode
        self.max_line = max_line
        self.allow_set_functions = allow_set_functions
        self.durable = durable

    def __str__(self):
        return "CallFile-> archive: %s, user: %s, spool_dir: %s" % (
            self.archive,
            self.user,
            self.spool_dir,
        )

    def __repr__(self):
        return "CallFile(%r, %r, filename=%r, spool_dir=%r)" % (
            self.call,
            self.action,
            self.filename,
            self.spool_dir,
        )

    def is_valid(self):
        """True when the file would be accepted: every value checked, and the spool
        directory (and ``tempdir``, if given) exists."""
        try:
            _native.pycall_render(self)
        except ValidationError:
            return False
        if not os.path.isdir(self.spool_dir):
            return False
        return not self.tempdir or os.path.isdir(self.tempdir)

    @property
    def contents(self):
        """The file's text, exactly as :meth:`spool` writes it (ending with a newline).

        :raises ValidationError: with the reason, when a value is refused.
        """
        return _native.pycall_render(self)

    def buildfile(self):
        """The file's lines, as a list of strings without newlines.

        :raises ValidationError: with the reason, when a value is refused.
        """
        return _native.pycall_render(self).split("\n")[:-1]

    def _tempdir(self):
        if self.tempdir:
            return os.fspath(self.tempdir)
        return os.path.join(os.fspath(self.spool_dir), _native.STAGING_SUBDIR)

    def writefile(self):
        """Writes the file (mode :attr:`mode`) into the temporary directory under
        :attr:`filename`, without spooling it, and returns its path. The default temporary
        directory is made (0700) when missing.

        :raises ValidationError: with the reason, when a value is refused.
        """
        contents = self.contents
        tempdir = self._tempdir()
        if not self.tempdir:
            os.makedirs(tempdir, mode=0o700, exist_ok=True)
        path = os.path.join(tempdir, os.fspath(self.filename))
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(path, flags, self.mode)
        try:
            os.fchmod(fd, self.mode)
            os.write(fd, contents.encode())
        finally:
            os.close(fd)
        return path

    def spool(self, time=None):
        """Spools the file: dialed at ``time`` (a ``datetime``: naive is local time, aware is
        exact; the file's access and modification times are set to it), or at once when None.

        The file is written whole in the temporary directory, owned by :attr:`user`, given its
        mode and time, then renamed into the spool directory; on any error nothing is left
        behind. Returns the path of the spooled file.

        :raises ValidationError: a value is refused, or a directory does not exist.
        :raises InvalidTimeError: ``time`` is not a datetime, is out of range, or has passed.
        :raises NoUserError: :attr:`user` does not exist.
        :raises NoUserPermissionError: this process may not chown the file to :attr:`user`.
        :raises NoSpoolPermissionError: the spool or temporary directory is not writable, a
            file of that name exists, or ``tempdir`` is on another filesystem.
        :raises UnknownError: any other I/O error.
        """
        at = _epoch(time)
        auto = self._auto_name is not None and self.filename == self._auto_name
        if auto and self._auto_spooled:
            # A name made for this object is used once: spooling again makes another file,
            # rather than replacing a call Asterisk may be dialing.
            self.filename = self._auto_name = _native.pycall_new_name()
        path = _native.pycall_spool(self, at)
        if auto:
            self._auto_spooled = True
        return path
