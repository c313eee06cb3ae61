"""The one user-facing error class.

Every failure an operator can fix is a `KargoError`: the entry point prints it
as a single line (no traceback unless KARGO_DEBUG is set) that names what is
wrong: a file and line, a variable, a stack or a service.
"""


class KargoError(Exception):
    """An error the operator can act on; `str()` is the whole message."""

    def __init__(self, message, *, where=None, hint=None):
        self.where = where
        self.hint = hint
        super().__init__(message)

    def __str__(self):
        text = self.args[0]
        if self.where:
            text = f"{self.where}: {text}"
        if self.hint:
            text = f"{text} ({self.hint})"
        return text


class ConfigError(KargoError):
    """Bad input in defaults/, the workspace or the environment."""


class EngineError(KargoError):
    """The Docker engine refused or failed a command."""

    def __init__(self, message, *, command=None, exit_code=None, stderr=None, **kw):
        self.command = command
        self.exit_code = exit_code
        self.stderr = stderr
        super().__init__(message, **kw)
