"""What a run prints: a line per task that runs, nothing for up-to-date ones,
and an operator's error as one line on stderr (`kargo: <task>: <message>`);
and, once the run is over, its one notification (`KARGO_NOTIFY`).

The reporter is the one place that sees a whole run: doit runs each stack
task on its own (`doit deploy:a deploy:b`, `sync`'s build and deploy), and
the reporter's `complete_run` comes once after all of them, failed or not.
It opens the run's journal (deploy/outcome.py) before any task runs, and at
the end sends what the actions kept and the errors of the tasks that failed
(operations/notify.py) when the run deployed, rolled back or ran a job.
"""
import sys
import time
import uuid

from doit.exceptions import TaskFailed
from doit.reporter import ConsoleReporter

from kargo_tasks.base.commandline import READ_ONLY_TASKS, named_tasks
from kargo_tasks.deploy import outcome
from kargo_tasks.operations import notify
from kargo_tasks.workspace.layout import layout

# the tasks whose run may notify: what changes the cluster
NOTIFYING = {"deploy", "redeploy", "rollback", "run"}


class Reporter(ConsoleReporter):
    desc = "kargo: executed tasks only, one-line errors"

    command: str | None = None  # what the notification names; sync's says "sync"

    def __init__(self, outstream, options):
        super().__init__(outstream, options)
        self.exit_code = None  # of a script that failed (scripts.ScriptFailed)
        self.started = time.monotonic()
        self.ran = []  # the tasks that ran
        self.failed = []  # the tasks that failed
        self.errors = []  # and their error lines
        outcome.open_journal(layout().state / "runs" / f"{uuid.uuid4().hex}.jsonl")

    def execute_task(self, task):
        if task.actions:
            self.ran.append(task.name)
            # a read-only task's output is what it prints (`logs:<stack> | grep`)
            if task.name.split(":", 1)[0] not in READ_ONLY_TASKS:
                self.write(f".  {task.title()}\n")

    def skip_uptodate(self, task):
        pass

    def skip_ignore(self, task):
        pass

    def add_failure(self, task, fail):
        self.failed.append(task.name)
        message = fail.message if isinstance(fail, TaskFailed) else str(fail)
        lines = message.strip().splitlines() or [type(fail).__name__]
        # an operator's error is its lines (each names its stack, service or
        # file); an unexpected one, its first line
        self.errors += lines if isinstance(fail, TaskFailed) and not fail.traceback else lines[:1]
        if isinstance(fail, TaskFailed) and not fail.traceback:
            self.failures.append({"task": task, "exception": fail})
            sys.stderr.write(f"kargo: {task.name}: {fail.message}\n")
            sys.stderr.flush()
            self.exit_code = getattr(fail, "exit_code", self.exit_code)
            return
        super().add_failure(task, fail)

    def complete_run(self):
        # doit prints each failed task's captured stdout; keep that for tasks
        # that said something (a hook's output), skip the empty banners.
        self.failures = [f for f in self.failures
                         if any(a.out for a in f["task"].actions if a.out)]
        super().complete_run()
        self._notify()
        if self.exit_code is not None:
            # doit would exit 1: `exec:<script>` passes the script's code back.
            # The database is saved by now (doit's Runner.finish), so leaving
            # here loses nothing.
            raise SystemExit(self.exit_code)

    def _notify(self):
        """The run's notification, when it deployed, rolled back or ran a
        job (or tried to): never a failure of the run (notify.py)."""
        entries = outcome.close_journal()
        asked = named_tasks() + self.ran + self.failed
        if not entries and not (self.command or any(
                name.split(":", 1)[0] in NOTIFYING for name in asked)):
            return
        command = self.command or " ".join(named_tasks()) or "run"
        try:
            notify.after_run(command, entries, self.errors, time.monotonic() - self.started)
        except Exception as exc:  # noqa: BLE001 - a notification never fails the run
            print(f"kargo: warning: notification not sent: {exc}", file=sys.stderr, flush=True)
