"""What a deploy, a rollback or a job run did to the cluster, kept for the
run's one notification (operations/notify.py).

doit runs each stack task as a task of its own (and with `-n`, in a process
of its own): no action sees the whole run. Each action appends what it sent
and what failed to the run's journal, a file the run's reporter names
before any task runs (tasks/report.py) and reads once the run is over.
Without a journal (a test calling an action, `doit plan`) nothing is kept.
Names and the engine's words only: never a value of the environment.
"""
import json
import os
from pathlib import Path

_JOURNAL: list[Path] = []  # the run's journal, when a reporter opened one


def open_journal(path: Path) -> None:
    """Keep what actions of this run (and the processes it forks) did in `path`."""
    _JOURNAL[:] = [path]


def close_journal() -> list[dict]:
    """The entries of the run, in the order they were kept; the journal removed."""
    if not _JOURNAL:
        return []
    path = _JOURNAL.pop()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return []
    finally:
        path.unlink(missing_ok=True)
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def keep(action: str, stack: str, sent: dict[str, str] | None = None,
         removed: list[str] | None = None, failures: list[str] | None = None) -> None:
    """One stack's part of a run: `action` (deploy, rollback, run), the
    services `sent` ({service: why}) and `removed`, its failure lines."""
    if not _JOURNAL:
        return
    entry = {"action": action, "stack": stack, "sent": dict(sent or {}),
             "removed": list(removed or ()), "failures": list(failures or ())}
    # made by the first entry: a run that deploys nothing leaves no trace
    _JOURNAL[0].parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # one short line appended at once: processes of one run do not mix them
    fd = os.open(_JOURNAL[0], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as journal:
        journal.write(json.dumps(entry) + "\n")
