"""The one error hierarchy of lrmakeup (and its one warning category).

Library code raises these; only the CLI (and the web UI) turns them into one-line messages and exit codes.
Every subclass of :class:`InputError` is the user's fault (exit code 2); anything else is a bug (exit 1).
"""

from __future__ import annotations


class LRMakeupError(Exception):
    """Base class of every error lrmakeup raises on purpose."""


class InputError(LRMakeupError):
    """Bad input from the user: a file, an argument, a config. The CLI exits with code 2."""


class ImageReadError(InputError):
    """The file is missing, not an image, truncated, or too large to decode safely."""


class NoFaceError(InputError):
    """No face was found where one was required (or the requested face index does not exist).

    ``role`` says which image it was ("source", "reference", ...) when the caller knew it, so a user interface
    can point at the right upload.
    """

    def __init__(self, message: str, role: str | None = None):
        super().__init__(message)
        self.role = role


class ConfigError(InputError):
    """A config file or override is malformed: unknown key, wrong type, invalid value."""


class CheckpointError(InputError):
    """A checkpoint cannot be read or does not match the model it claims to hold."""


class DataError(InputError):
    """A data set folder does not have the expected layout or content."""


class LRMakeupWarning(UserWarning):
    """Something works but the result may disappoint (a tiny face, a checkpoint with an untrained stage).

    Library code issues these with :func:`warnings.warn`; the CLI prints each as one ``lrmakeup: warning:`` line.
    """
