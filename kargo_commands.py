"""kargo's doit commands (`plan`, `graph`, and `list`, which says when the
environment cannot be read), registered as doit plugins in pyproject.toml.

A module of its own, outside kargo_tasks, that imports none of kargo's code
until a command runs: doit loads its plugins before the dodo file, and an
import of kargo_tasks here would be the installed one, not that of the
checkout whose dodo.py doit then loads. By the time a command runs, the dodo
file has imported its own kargo_tasks, and that is the one used.
"""
from doit.cmd_base import DoitCmdBase
from doit.cmd_list import List as DoitList

EXIT_WOULD_RUN = 4


class Plan(DoitCmdBase):
    name = "plan"
    doc_purpose = "list the tasks that would run and why, touching nothing"
    doc_usage = "[TASK ...]"
    doc_description = (f"Exit status: 0 when nothing would run, {EXIT_WOULD_RUN} when "
                       "something would, 3 on bad input.")

    def _execute(self, pos_args=None):
        from kargo_tasks import plan
        return plan.execute(self, pos_args)


class Graph(DoitCmdBase):
    name = "graph"
    doc_purpose = "write the task graph as .kargo/graph.dot (+ .svg with graphviz), stale in red"
    doc_usage = "[TASK ...]"
    doc_description = None

    def _execute(self, pos_args=None):
        from kargo_tasks import graph
        return graph.execute(self, pos_args)


class List(DoitList):
    """doit's `list`, minus the tasks that stand for an environment that
    cannot be read: those are not listed, the error is said on one line,
    and the exit status is not 0."""

    # doit passes the options by the names of this signature: doit's own
    def _execute(self, subtasks=False, quiet=True, status=False, private=False,
                 list_deps=False, template=None, sort="name", pos_args=None):
        from kargo_tasks.project import current
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
            from kargo_tasks.plan import refuse
            self.outstream.flush()
            return refuse("list", project.error)
        return status
