"""`doit plan`: every task that would run and why, touching nothing.

The doit command (kargo_commands.Plan, registered in pyproject.toml) that
asks doit's own
dependency manager for each task's status, in execution order, and says why
in an operator's words: the file that changed (relative to the workspace or
defaults), the variable that changed (its name, never its value), the image
that is missing, the stack that drifted. Exit 0 when nothing would run,
EXIT_WOULD_RUN when something would.
"""
from doit.control import TaskControl
from doit.tools import config_changed, result_dep

from kargo_tasks.base.actions import Check
from kargo_tasks.base.exits import EXIT_REFUSED, EXIT_WOULD_RUN
from kargo_tasks.base.graphs import dependencies_first

DEFAULT_TARGETS = ("build", "deploy")


def order(tasks, selected):
    """The tasks `selected` needs, dependencies first (doit's own order)."""
    names = dependencies_first(selected, lambda name: [*tasks[name].task_dep,
                                                       *tasks[name].setup_tasks])
    return [tasks[name] for name in names]


def refuse(command, error):
    """The environment cannot be read: say so on one line, exit EXIT_REFUSED."""
    import sys
    sys.stderr.write(f"kargo: {command}: {error}\n")
    return EXIT_REFUSED


def selection(control, names):
    """The task names asked for, each one a task (doit's own error otherwise)."""
    from doit.exceptions import InvalidCommand
    for name in names:
        if name not in control.tasks:
            raise InvalidCommand(not_found=name)
    return list(names)


def explain(task, status, dep_manager, project, details=True):
    """Lines saying why `task` would run (`details`: and what its checks add,
    e.g. what a deploy would change in each service)."""
    lines = []
    reasons = status.reasons
    for utd, _args, _kwargs in reasons.get("uptodate_false", ()):
        if isinstance(utd, Check):
            lines.extend(utd.explain(dep_manager.get_values(task.name)))
        elif isinstance(utd, result_dep):
            lines.append(f"{utd.dep_name} changed what it made")
        elif isinstance(utd, config_changed):
            source = utd.config.get("source") if isinstance(utd.config, dict) else None
            lines.append(f"now made from {project.relative(source)}" if source
                         else "its configuration changed")
        elif utd is False:
            lines.append("always runs")
        else:
            lines.append(f"{getattr(utd, '__name__', 'a check')} says stale")
    for key, text in (("changed_file_dep", "changed"), ("added_file_dep", "is a new input"),
                      ("removed_file_dep", "is no longer an input")):
        lines.extend(f"{project.relative(path)} {text}" for path in reasons.get(key, ()))
    for path in reasons.get("missing_target", ()):
        lines.append(f"{project.relative(path)} is missing")
    if reasons.get("has_no_dependencies"):
        lines.append("always runs")
    for path in reasons.get("missing_file_dep", ()):
        lines.append(f"{project.relative(path)} does not exist yet")
    if not lines:
        lines.append("an input is remade first")
    for utd, _args, _kwargs in task.uptodate if details else ():
        if isinstance(utd, Check):
            lines.extend(utd.detail())
    return lines


def stale_tasks(tasks, tasks_dict, dep_manager, targets):
    """(task, doit status) of each task of `tasks` that would run, and of the
    ones that would see a changed input once an earlier one ran: a file made
    by it (declared, or read last time), or an image it builds."""
    running, result = set(), []
    for task in tasks:
        if not task.actions:
            continue
        read = set(task.file_dep) | set(dep_manager.get_values(task.name).get("inputs") or ())
        upstream = any(targets.get(path) in running for path in read) or any(
            getattr(utd, "dep_name", None) in running for utd, _, _ in task.uptodate)
        status = dep_manager.get_status(task, tasks_dict, get_log=True)
        if status.status != "up-to-date" or upstream:
            running.add(task.name)
            result.append((task, status))
    return result


def execute(command, pos_args):
    """The body of `doit plan` (`command`: the doit command object)."""
    from kargo_tasks.operations.project import current
    from kargo_tasks.workspace.sealed import sealed_sources
    project = current()
    if project.error:
        return refuse("plan", project.error)
    encrypted = sealed_sources(project)
    if encrypted:  # a plain workspace's plan says what it always said
        command.outstream.write(f"encrypted (age): {', '.join(encrypted)}\n")
    control = TaskControl(command.task_list)
    selected = pos_args or [name for name in DEFAULT_TARGETS if name in control.tasks]
    tasks = order(control.tasks, selection(control, selected))
    stale = stale_tasks(tasks, control.tasks, command.dep_manager, control.targets)
    for task, status in stale:
        command.outstream.write(f"{task.name}\n")
        for line in explain(task, status, command.dep_manager, project):
            command.outstream.write(f"    {line}\n")
    if not stale:
        command.outstream.write("nothing to do\n")
        return 0
    return EXIT_WOULD_RUN
