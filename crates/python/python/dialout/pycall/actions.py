"""What Asterisk does once the callee answers: ``Application`` or ``Context``, as in pycall."""

from dialout import _native

__all__ = ["Action", "Application", "Context"]


class Action(object):
    """Base class of the actions. Only :class:`Application` and :class:`Context` (and their
    subclasses) can be spooled: their lines are the ones dialout knows how to check."""

    _dialout_action = None

    def render(self):
        """The action's lines as a tuple of strings.

        :raises ValidationError: with the reason, when an attribute is refused.
        """
        return tuple(_native.pycall_action_lines(self))


class Application(Action):
    """Run one Asterisk application on answer, e.g. ``Application('Playback', 'hello-world')``.

    :param application: the application's name (letters, digits, ``_``).
    :param data: its argument string (may be empty).
    """

    _dialout_action = "application"

    def __init__(self, application, data):
        self.application = application
        self.data = data

    def __repr__(self):
        return "Application(%r, %r)" % (self.application, self.data)


class Context(Action):
    """Enter the dialplan on answer, e.g. ``Context('survey', 's', '1')``.

    :param context: the dialplan context.
    :param extension: the extension in it.
    :param priority: a number, as a str (``'1'``, as pycall's guide writes it) or an int.
    """

    _dialout_action = "context"

    def __init__(self, context, extension, priority):
        self.context = context
        self.extension = extension
        self.priority = priority

    def __repr__(self):
        return "Context(%r, %r, %r)" % (self.context, self.extension, self.priority)
