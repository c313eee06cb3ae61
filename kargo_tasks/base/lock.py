"""One kargo run at a time per workspace: an flock on
`.kargo/<workspace>/.state/run.lock` (workspace/layout.py), so two platforms
of one checkout deploy at the same time, each alone.

Taken when the tasks are loaded for a command that may run them (not for
`list`, `info`, `help`), before doit forks its `-n` workers, which share it.
The kernel drops it when the process dies, even on `kill -9`. A second run
refuses at once with the holder's pid, start time and command, or waits up to
KARGO_LOCK_WAIT seconds.
"""
import fcntl
import os
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

from .commandline import wanted
from .errors import KargoError

_held: list = []


class HasState(Protocol):
    """What the lock needs of a layout (workspace/layout.Layout, a part above)."""

    def make_state(self) -> Path: ...


def acquire(lay: HasState, environ: Mapping[str, str] | None = None,
            argv: Sequence[str] | None = None) -> None:
    environ = os.environ if environ is None else environ
    argv = sys.argv[1:] if argv is None else argv
    if _held or not wanted(argv):
        return
    path = lay.make_state() / "run.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    deadline = time.monotonic() + float(environ.get("KARGO_LOCK_WAIT") or 0)
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                holder = os.pread(fd, 300, 0).decode("utf-8", "replace").strip() or "unknown"
                os.close(fd)
                raise KargoError(f"another kargo run holds the lock ({holder})", where=str(path),
                                 hint="wait for it, or set KARGO_LOCK_WAIT=seconds")
            time.sleep(0.2)
    command = " ".join(a for a in argv if not a.startswith("-"))[:80] or "run"
    info = f"pid {os.getpid()}, since {time.strftime('%Y-%m-%d %H:%M:%S')}, {command}"
    os.ftruncate(fd, 0)
    os.pwrite(fd, info.encode(), 0)
    _held.append(fd)  # held until the process exits
    sys.excepthook = _interrupted(sys.excepthook)


INTERRUPTED = ("kargo: interrupted: the tasks that finished are recorded, "
               "the next run redoes the rest\n")


def _interrupted(previous):
    # Ctrl-C reaches doit anywhere (an action, its reporter, its scheduler),
    # and doit lets KeyboardInterrupt through after saving the finished tasks:
    # without this the operator reads a traceback of doit's internals. Python
    # still ends the process by SIGINT (exit 130 in a shell).
    def hook(kind, value, tb):
        if issubclass(kind, KeyboardInterrupt) and not os.environ.get("KARGO_DEBUG"):
            sys.stderr.write(INTERRUPTED)
            sys.stderr.flush()
            return
        previous(kind, value, tb)
    return hook
