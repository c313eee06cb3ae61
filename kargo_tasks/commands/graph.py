"""`doit graph`: the dependency graph (configure outputs -> images -> stacks)
as Graphviz DOT, stale tasks highlighted, rendered to SVG when Debian's
`graphviz` is installed. Reads statuses like `doit plan`; touches nothing."""
import shutil
import subprocess

from doit.control import TaskControl

from .plan import DEFAULT_TARGETS, order, refuse, selection, stale_tasks

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


def execute(command, pos_args):
    """The body of `doit graph` (`command`: the doit command object)."""
    from kargo_tasks.base.files import SECRET_FILE, write_atomic
    from kargo_tasks.operations.project import current
    project = current()
    if project.error:
        return refuse("graph", project.error)
    layout = project.layout
    control = TaskControl(command.task_list)
    selected = pos_args or [n for n in DEFAULT_TARGETS if n in control.tasks]
    tasks = order(control.tasks, selection(control, selected))
    stale = {task.name for task, _ in stale_tasks(tasks, control.tasks, command.dep_manager,
                                                  control.targets)}
    target = layout.merged / "graph.dot"
    write_atomic(target, dot(tasks, stale).encode(), SECRET_FILE)
    command.outstream.write(f"{target}  ({len(stale)} stale)\n")
    if not shutil.which("dot"):
        command.outstream.write("graphviz is not installed (apt-get install graphviz) "
                                "to render it as SVG\n")
        return 0
    svg = target.with_suffix(".svg")
    subprocess.run(["dot", "-Tsvg", "-o", str(svg), str(target)], check=True)
    command.outstream.write(f"{svg}\n")
    return 0
