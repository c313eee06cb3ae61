"""What sending a stack changes in the services that run, service by
service and field by field (specdiff.py: never a value of the environment,
never a secret's content): for `doit plan` before a deploy, and for
`rollback:<stack>` as it goes. Asks the engine, changes nothing.

`doit plan` must show what a deploy would send after the workspace changed,
while `.kargo/` still holds the last configuration: the stack is resolved
from the merged configuration rendered afresh into a private scratch folder
(owner-only, removed when the process ends), once per run.
"""
import base64
import tempfile
from pathlib import Path

from kargo_tasks.compose import resolve as compose
from kargo_tasks.compose.schema import is_job
from kargo_tasks.engine import client as engine
from kargo_tasks.workspace import masking, sealed, templates
from kargo_tasks.workspace.catalog import Stack
from kargo_tasks.workspace.project import Project

from . import specdiff

_SCRATCH: dict = {}  # id(project) -> TemporaryDirectory


def resolve_now(project: Project, stack: Stack) -> dict:
    """The stack file a deploy would send now, as a document."""
    scratch = _scratch(project)
    resolved = compose.resolve(stack, scratch, project.env,
                               templates.labeler(project.overlay, scratch, project.env))
    return compose.load_stack(resolved.text, f".kargo/stacks/{stack.name}.yml")


def _scratch(project):
    """The merged configuration as `configure` would write it now, build
    contexts left out (no stack file reads them)."""
    if id(project) not in _SCRATCH:
        folder = tempfile.TemporaryDirectory(prefix="kargo-plan-")  # mode 0700
        for out, source in project.overlay.items():
            if out.split("/", 1)[0] == "images":
                continue
            data, reads = templates.render(source, out, project.env)
            # never in clear here
            data = sealed.stored(source, data, project.sealing_folder(), None, project.env,
                                 reads, out)
            path = Path(folder.name) / out
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        _SCRATCH[id(project)] = folder
    return Path(_SCRATCH[id(project)].name)


def describe(stack, doc, send, remove, deployed):
    """Lines for sending the services `send` ({name: why}) of `doc` and
    removing the services `remove` (full names), against `deployed`."""
    lines = []
    for name, why in send.items():
        running = deployed.get(stack.namespace.scope(name))
        # a job sent is a job run: the operator sees which ones a deploy runs
        lines.append(f"job {name} ({why}): a deploy runs it" if is_job(doc["services"][name])
                     else f"service {name} ({why})")
        if running is not None:
            fields = specdiff.field_changes(doc["services"][name], running["Spec"], doc, config_text)
            lines += [f"  {line}" for line in fields] or (
                ["  image rebuilt"] if why == "image replaced" else
                ["  no field shown here changed (another setting did)"] if why == "changed"
                else [])
    lines += [f"service {stack.namespace.descope(name)} removed" for name in remove]
    return lines


def config_text(name):
    """(text, masking label) the engine holds for the config `name`; None
    when it has no such config or the content is not text."""
    found = engine.get(f"inspect config {name}", f"/configs/{name}", missing=True)
    if not found:
        return None
    try:
        text = base64.b64decode(found["Spec"].get("Data") or "").decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    return text, (found["Spec"].get("Labels") or {}).get(masking.LABEL)
