"""``Call``: who to call and how, as in pycall."""

from dialout import _native

__all__ = ["Call"]


class Call(object):
    """The call part of a call file.

    Attributes hold exactly what was given and may be changed at will; they are checked by
    :meth:`is_valid`, :meth:`render` and ``CallFile.spool()`` (late, as pycall does).

    :param channel: one ``Tech/Destination``, e.g. ``'SIP/flowroute/18002223333'``.
    :param callerid: e.g. ``'"Test User" <5555555555>'``; falsy means none.
    :param variables: a dict of dialplan variables, one ``Set:`` line each (``str()`` of names
        and values, in the dict's order).
    :param account: the account code for the CDR; falsy means none.
    :param wait_time: seconds to ring per attempt (an int, at least 1).
    :param retry_time: seconds between attempts (an int, at least 1).
    :param max_retries: retries after the first attempt (an int, at least 0).
    """

    def __init__(
        self,
        channel,
        callerid=None,
        variables=None,
        account=None,
        wait_time=None,
        retry_time=None,
        max_retries=None,
    ):
        self.channel = channel
        self.callerid = callerid
        self.variables = variables
        self.account = account
        self.wait_time = wait_time
        self.retry_time = retry_time
        self.max_retries = max_retries

    def is_valid(self):
        """True when every attribute would be written and read back by Asterisk exactly."""
        from dialout.pycall.errors import ValidationError

        try:
            _native.pycall_call_lines(self)
        except ValidationError:
            return False
        return True

    def render(self):
        """The call's lines (``'Channel: ...'``, ...) as a list of strings.

        :raises ValidationError: with the reason, when an attribute is refused.
        """
        return _native.pycall_call_lines(self)

    def __repr__(self):
        return "Call(%r)" % (self.channel,)
