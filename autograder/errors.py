"""The one exception type the command line turns into a one-line message."""


class CourseError(Exception):
    """A problem the user can fix; the message says what went wrong and how to fix it."""
