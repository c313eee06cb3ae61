"""`doit graph`: the dependency graph (configure outputs -> images -> stacks)
as Graphviz DOT, stale tasks highlighted, rendered to SVG when Debian's
`graphviz` is installed. Reads statuses like `doit plan`; touches nothing."""
import shutil
import subprocess

from doit.cmd_base import DoitCmdBase
from doit.control import TaskControl

from .plan import DEFAULT_TARGETS, order, selection, stale_tasks

STALE = 'style=filled fillcolor="#f4a582"'
FRESH = 'style=filled fillcolor="#d1e5f0"'


def dot(tasks, stale):
    """DOT text for `tasks` (in order, each with its task_dep)."""
    shown = {t.name for t in tasks if t.actions}
    lines = ["digraph kargo {", "  rankdir=LR;", '  node [shape=box fontname="sans"];']
    for task in tasks:
        if task.name in shown:
            label = task.name
            lines.append(f'  "{label}" [{STALE if task.name in stale else FRESH}];')
    for task in tasks:
        if task.name not in shown:
            continue
        for dep in sorted(set(task.task_dep)):
            if dep in shown:
                lines.append(f'  "{dep}" -> "{task.name}";')
    lines.append("}")
    return "\n".join(lines) + "\n"


class Graph(DoitCmdBase):
    doc_purpose = "write the task graph as .kargo/graph.dot (+ .svg with graphviz), stale in red"
    doc_usage = "[TASK ...]"
    doc_description = None

    def _execute(self, pos_args=None):
        from .files import SECRET_FILE, write_atomic
        from .project import current
        layout = current().layout
        control = TaskControl(self.task_list)
        selected = pos_args or [n for n in DEFAULT_TARGETS if n in control.tasks]
        tasks = order(control.tasks, selection(control, selected))
        stale = {task.name for task, _ in stale_tasks(tasks, control.tasks, self.dep_manager,
                                                      control.targets)}
        target = layout.merged / "graph.dot"
        write_atomic(target, dot(tasks, stale).encode(), SECRET_FILE)
        self.outstream.write(f"{target}  ({len(stale)} stale)\n")
        if not shutil.which("dot"):
            self.outstream.write("graphviz is not installed (apt-get install graphviz) "
                                 "to render it as SVG\n")
            return 0
        svg = target.with_suffix(".svg")
        subprocess.run(["dot", "-Tsvg", "-o", str(svg), str(target)], check=True)
        self.outstream.write(f"{svg}\n")
        return 0
