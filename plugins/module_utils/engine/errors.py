# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The engine's error types: one clear line for the user, and an exit code."""


class MyDockerError(Exception):
    """An error with one clear line for the user. Nothing was changed (or it was undone)."""

    def __init__(self, msg, code=1):
        super().__init__(msg)
        self.msg = msg
        self.code = code

    def __str__(self):
        return self.msg


class NotFound(MyDockerError):
    pass
