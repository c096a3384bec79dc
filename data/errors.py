"""The one exception type the data loaders raise, so callers can show it as a single line."""


class DataError(Exception):
    """A data file is missing, corrupt or not in the expected shape.

    The message always names the file, the place in it and what to do about it, because the
    reader of this message is a student or an instructor, not a developer.
    """
