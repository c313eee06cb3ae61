"""kargo's doit commands (`plan`, `status`, `graph`, `sync`, and `list`, which says
when the environment cannot be read) and database backend (`Database`), registered as
doit plugins in pyproject.toml.

A module of its own, outside kargo_tasks, that imports none of kargo's code
until a command runs: doit loads its plugins before the dodo file, and an
import of kargo_tasks here would be the installed one, not that of the
checkout whose dodo.py doit then loads. By the time a command runs, the dodo
file has imported its own kargo_tasks, and that is the one used.
"""
import os
import sqlite3
import sys

from doit.cmd_base import DoitCmdBase
from doit.cmd_list import List as DoitList
from doit.dependency import DatabaseException, SqliteDB


class Help:
    """A command's help text naming kargo's exit statuses (kargo_tasks/base/exits.py),
    formatted when the help is shown: kargo_tasks is not imported at load (above)."""

    def __init__(self, text):
        self.text = text

    def __get__(self, command, owner=None):
        from kargo_tasks.base import exits
        return self.text.format(**{name: value for name, value in vars(exits).items()
                                   if name.startswith("EXIT_")})


class Plan(DoitCmdBase):
    name = "plan"
    read_only = True  # no run lock, the garbage collector kept (base/commandline.commands)
    doc_purpose = "list the tasks that would run and why, touching nothing"
    doc_usage = "[TASK ...]"
    doc_description = Help("Exit status: 0 when nothing would run, {EXIT_WOULD_RUN} when "
                           "something would, {EXIT_REFUSED} on bad input.")

    def _execute(self, pos_args=None):
        from kargo_tasks.commands import plan
        return plan.execute(self, pos_args)


class Status(DoitCmdBase):
    name = "status"
    read_only = True  # as Plan
    doc_purpose = "per stack, what runs against what the workspace says, touching nothing"
    doc_usage = "[--format text|json] [--html FILE]"
    doc_description = Help("One line per service: running/desired tasks, image digest, state "
                           "(drift, a job's last result), URLs. Exit status: 0 all as the "
                           "workspace says, {EXIT_WOULD_RUN} something differs, "
                           "{EXIT_REFUSED} bad input.")
    cmd_options = (
        {"name": "fmt", "long": "format", "type": str, "default": "text",
         "help": "text (a line per service) or json (README: doit status)"},
        {"name": "html_file", "long": "html", "type": str, "default": "",
         "help": "also write the status as one self-contained HTML page to this file"},
    )

    def _execute(self, fmt="text", html_file=""):
        from kargo_tasks.commands import status
        return status.execute(self, fmt, html_file)


class Graph(DoitCmdBase):
    name = "graph"
    read_only = True
    doc_purpose = "write the task graph as .kargo/graph.dot (+ .svg with graphviz), stale in red"
    doc_usage = "[TASK ...]"
    doc_description = None

    def _execute(self, pos_args=None):
        from kargo_tasks.commands import graph
        return graph.execute(self, pos_args)


class Sync(DoitCmdBase):
    name = "sync"
    read_only = False
    doc_purpose = "pull the workspace from its git upstream, then build and deploy what changed"
    doc_usage = ""
    doc_description = Help("Exit status: 0 nothing changed, {EXIT_SYNCED} something was "
                           "pulled, built or deployed, 1 a task failed, {EXIT_REFUSED} the pull "
                           "was refused.")

    def _execute(self, pos_args=None):
        from kargo_tasks.commands import sync
        return sync.execute(self)


class List(DoitList):
    """doit's `list`, minus the tasks that stand for an environment that
    cannot be read: those are not listed, the error is said on one line,
    and the exit status is not 0."""
    read_only = True

    # doit passes the options by the names of this signature: doit's own
    def _execute(self, subtasks=False, quiet=True, status=False, private=False,
                 list_deps=False, template=None, sort="name", pos_args=None):
        from kargo_tasks.operations.project import current
        project = current()
        if project.error:
            stand_ins = {t.name for t in self.task_list if (t.meta or {}).get("needs_env")}
            groups = {name.split(":", 1)[0] for name in stand_ins}
            self.task_list = [t for t in self.task_list
                              if t.name not in stand_ins and t.name not in groups]
        status = super()._execute(subtasks=subtasks, quiet=quiet, status=status,
                                  private=private, list_deps=list_deps, template=template,
                                  sort=sort, pos_args=pos_args)
        if project.error:
            from kargo_tasks.commands.plan import refuse
            self.outstream.flush()
            return refuse("list", project.error)
        return status


class Database(SqliteDB):
    """doit's sqlite3 database, made again when it cannot be read (deleted
    half way, truncated, overwritten): the unreadable file is kept aside as
    `<name>.corrupt` and the run starts from an empty one, with one line on
    stderr. Nothing is lost that matters: every task is checked again against
    its files, and the stack and image tasks against the engine itself (their
    records are beside the database, and in the images' labels); a single
    row that cannot be read is that task never run. A save the
    disk refuses (full) is one line too: the run's tasks run again next time.

    `PRAGMA quick_check` reads every page (a no-op run of 10,000 tasks pays
    about 6 ms): without it, a file whose header survived fails only when a
    task's row is read, deep in the run."""
    desc = "doit's sqlite3 backend, made again when unreadable"

    def __init__(self, name, codec, **kwargs):
        problem = _unreadable(name)
        if problem:
            aside = f"{name}.corrupt"
            os.replace(name, aside)
            sys.stderr.write(f"kargo: the doit database {name} could not be read ({problem}): "
                             f"kept as {os.path.basename(aside)}, a new one is made; every "
                             "task is checked again against its files and the engine\n")
        try:
            super().__init__(name, codec, **kwargs)
        except DatabaseException as exc:  # what quick_check did not see
            raise DatabaseException(f"{exc} (kargo: remove {name})") from None
        self._row_said = False
        # A sound file can still hold a row that is not doit's JSON (written by
        # hand, a bad tool): that task reads as never run, not as a traceback.
        # doit registers its own converter for the column the same way.
        sqlite3.register_converter("json", self._row)

    def _row(self, data):
        try:
            row = self.codec.decode(data.decode("utf-8"))
            why = None if isinstance(row, dict) else "not a record"
        except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
            row, why = {}, str(exc)
        if why is None:
            return row
        if not self._row_said:
            self._row_said = True
            sys.stderr.write(f"kargo: a record of the doit database {self.name} could not be "
                             f"read ({why}): its task is checked again against its files and "
                             "the engine\n")
        return {}

    def dump(self):
        try:
            super().dump()
        except sqlite3.Error as exc:
            sys.stderr.write(f"kargo: the doit database could not be saved ({exc}): the tasks "
                             "of this run are checked again by the next one\n")


def _unreadable(path):
    """Why the sqlite file `path` cannot be read, or None (also when absent)."""
    if not os.path.exists(path):
        return None
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            found = conn.execute("PRAGMA quick_check").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        # only a damaged file: "database is locked" (a run writing it while
        # `doit plan` reads) is no reason to put it aside
        if exc.sqlite_errorcode in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
            return str(exc)
        return None
    return None if found and found[0] == "ok" else (found[0] if found else "empty check")
