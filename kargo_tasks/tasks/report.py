"""What a run prints: a line per task that runs, nothing for up-to-date ones,
and an operator's error as one line on stderr (`kargo: <task>: <message>`)."""
import sys

from doit.exceptions import TaskFailed
from doit.reporter import ConsoleReporter

from kargo_tasks.base.commandline import READ_ONLY_TASKS


class Reporter(ConsoleReporter):
    desc = "kargo: executed tasks only, one-line errors"

    def __init__(self, outstream, options):
        super().__init__(outstream, options)
        self.exit_code = None  # of a script that failed (scripts.ScriptFailed)

    def execute_task(self, task):
        # a read-only task's output is what it prints (`logs:<stack> | grep`)
        if task.actions and task.name.split(":", 1)[0] not in READ_ONLY_TASKS:
            self.write(f".  {task.title()}\n")

    def skip_uptodate(self, task):
        pass

    def skip_ignore(self, task):
        pass

    def add_failure(self, task, fail):
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
        if self.exit_code is not None:
            # doit would exit 1: `exec:<script>` passes the script's code back.
            # The database is saved by now (doit's Runner.finish), so leaving
            # here loses nothing.
            raise SystemExit(self.exit_code)
