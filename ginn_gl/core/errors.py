"""Errors meant for the user: the CLI prints their one-line message and exits with status 2."""


class UserError(Exception):
    """Bad input the user can fix; the message names the problem and the fix."""


class RunFileError(UserError):
    """A file that is not a readable ginn-gl run file."""


class TargetError(UserError):
    """An image that cannot be used as a training target."""
