"""`doit status`: per stack, what runs against what the workspace says
(operations/status.py reads and shows it). Read-only, like `doit plan`, and
with plan's reasons: the tasks plan would run before a stack's deploy (a
workspace file, a variable, an image; doit's own dependency manager says
which) and the deploy's own check of the cluster against kargo's record
(deploy/stacks.stale_reasons: never deployed, changed or removed outside
kargo, rolled back, tasks lost). Exit 0 when every stack is as the workspace
says, EXIT_WOULD_RUN when something differs."""
import sys
import time

from doit.control import TaskControl

from kargo_tasks.base.errors import KargoError
from kargo_tasks.base.exits import EXIT_WOULD_RUN

from .plan import explain, order, refuse, stale_tasks

FORMATS = ("text", "json")


def _reasons(project, stack, stale, control, dep_manager, services):
    """Why a deploy of `stack` would run: (the lines of the stale tasks that
    feed it: its merged files, its stack file, its images; what its deploy's
    check of the cluster says)."""
    from kargo_tasks.deploy.stacks import stale_reasons
    from kargo_tasks.workspace.catalog import images_of
    found = []
    resolve = f"_stack:{stack.name}"
    read = set(control.tasks[resolve].file_dep) | set(
        dep_manager.get_values(resolve).get("inputs") or ()) if resolve in control.tasks else set()
    for name, (task, status) in stale.items():
        feeds = name == resolve or (name.startswith("_configure:") and set(task.targets) & read)
        if feeds:
            found += [line for line in explain(task, status, dep_manager, project, details=False)
                      if line != "an input is remade first"] or ["an input is remade first"]
    for image in images_of(stack, project.catalog, project.env):
        if f"build:{image}" in stale:
            task, status = stale[f"build:{image}"]
            found += [f"image {image}: {line}"
                      for line in explain(task, status, dep_manager, project, details=False)]
    return list(dict.fromkeys(found)), stale_reasons(project, stack, services)


def execute(command, fmt, html_file):
    """The body of `doit status` (`command`: the doit command object)."""
    from kargo_tasks.engine import client as engine
    from kargo_tasks.engine import swarm
    from kargo_tasks.operations import status
    from kargo_tasks.operations.project import current
    from kargo_tasks.workspace.catalog import images_of
    project = current()
    if project.error:
        return refuse("status", project.error)
    if fmt not in FORMATS:
        return refuse("status", f"--format {fmt}: give text or json")
    stacks = list(project.catalog.stacks.values())
    control = TaskControl(command.task_list)
    wanted = [f"_stack:{s.name}" for s in stacks] + sorted(
        {f"build:{image}" for s in stacks for image in images_of(s, project.catalog, project.env)})
    tasks = order(control.tasks, [name for name in wanted if name in control.tasks])
    stale = {task.name: (task, found) for task, found in
             stale_tasks(tasks, control.tasks, command.dep_manager, control.targets)}
    try:
        services = swarm.all_services()
        host = engine.current().host
        rows = []
        for stack in stacks:
            changed, cluster = _reasons(project, stack, stale, control, command.dep_manager,
                                        services)
            # the workspace changed since its stack file was resolved: each
            # service is compared with what a deploy would send now
            rows.append(status.rows(status.read(project, stack, services, changed + cluster,
                                                host, fresh=bool(changed))))
    except KargoError as err:
        sys.stderr.write(f"kargo: status: {err}\n")
        return 1
    doc = status.document(rows, engine.describe())
    if fmt == "json":
        import json
        command.outstream.write(json.dumps(doc, indent=2) + "\n")
    else:
        command.outstream.write("\n".join(status.lines(doc)) + "\n")
    if html_file:
        import os

        from kargo_tasks.base.files import write_atomic
        # doit runs in the dodo file's folder: a relative path is the operator's
        html_file = os.path.join(os.environ.get("PWD") or os.getcwd(), html_file)
        written = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
        try:
            write_atomic(html_file, status.page(doc, written).encode())
        except (OSError, KargoError) as exc:
            return refuse("status", f"--html {html_file}: {exc}")
    return EXIT_WOULD_RUN if doc["differs"] else 0

