"""`doit status`: per stack, what runs against what the workspace says, read
and shown three ways (a line per service, JSON, one HTML page).

What is read (`read`), per stack: the engine's services of its namespace with
their task counts, their tasks, the stack file kargo resolved, the record of
kargo's last deploy and the versions it keeps (deploy/history.py). What
differs is never decided here: the reasons `doit plan` gives for the stack's
deploy task (commands/status.py asks doit, as plan does), and per service
the rule a deploy sends it by (deploy/delta.to_send: new, changed, changed
outside kargo, image replaced). Then pure builders: `rows` (what was read
-> plain data, the JSON's keys), `lines`, `page`.

No value of the environment is shown: the reasons name files and variables,
the services their names, images and published ports (as `plan` and `show`
do)."""
import datetime
import html
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from kargo_tasks.base.errors import KargoError
from kargo_tasks.deploy import delta, history, preview
from kargo_tasks.deploy.stacks import read_record, read_stack, stack_file, text_digest
from kargo_tasks.engine import convergence, swarm
from kargo_tasks.workspace.catalog import Stack
from kargo_tasks.workspace.namespace import LABEL as NAMESPACE
from kargo_tasks.workspace.project import Project

from . import show

SCHEMA = 1
AS_SAID = "as the workspace says"
FAILED = {"failed", "rejected"}
ACTIVE = {"new", "allocated", "pending", "assigned", "accepted", "preparing", "ready",
          "starting", "running"}


# --- reading ----------------------------------------------------------------------------

def read(project: Project, stack: Stack, services: list[dict], reasons: Sequence[str],
         host: str | None, fresh: bool = False) -> dict:
    """What `rows` needs of `stack`, asked of the engine and read from
    `.kargo/` (`services`: every service of the swarm, with task counts;
    `reasons`: why `plan` would deploy the stack; `host`: the engine's;
    `fresh`: compare with the stack resolved from the workspace as it is now,
    as `plan` does, not with its last stack file)."""
    mine = {s["Spec"]["Name"]: s for s in services
            if (s["Spec"].get("Labels") or {}).get(NAMESPACE) == stack.namespace}
    found: dict[str, Any] = {"stack": stack.name, "namespace": str(stack.namespace),
                             "workspace": list(stack.services), "services": mine,
                             "reasons": list(reasons), "tasks": [], "send": None,
                             "remove": [], "urls": {}, "error": None}
    found["tasks"] = swarm.tasks_of([s["ID"] for s in mine.values()])
    record = read_record(project, stack)
    found["rolled_back"] = bool(record and record.get("rolled_back"))
    versions = history.read(project.layout, stack)
    found["current"] = _version(versions.get("current"))
    found["previous"] = _version(versions.get("previous"))
    found["since"] = history.written_at(project.layout, stack) if versions.get("current") else None
    try:
        doc = preview.resolve_now(project, stack) if fresh else read_stack(project, stack).doc
    except (OSError, KargoError) as err:
        found["error"] = f"cannot read stacks/{stack.name}.yml: {getattr(err, 'strerror', None) or err}"
        return found
    refs = sorted({spec.get("image") for spec in (doc.get("services") or {}).values()} - {None})
    cluster = None if record is None else record.get("cluster") or {}
    found["send"], found["remove"] = delta.to_send(
        doc, stack.namespace, mine, cluster, swarm.image_digests(refs) if mine else {},
        (record or {}).get("unconverged"))
    here = show.published_host(host)
    try:
        published = show.ports(stack_file(project, stack)) or {}
    except KargoError:  # a sealed stack file this run cannot open: no URLs to show
        published = {}
    for service, ports in published.items():
        found["urls"][service] = [f"{'http' if proto == 'tcp' else proto}://{here}:{outside}"
                                  for outside, _inside, proto in ports]
    return found


def _version(version):
    """A kept version's id: 12 hex digits of its stack file (as stored) and images."""
    if not version:
        return None
    images = json.dumps(version.get("images") or {}, sort_keys=True)
    return text_digest(version.get("stack", "") + images)[:12]


# --- what was read -> rows --------------------------------------------------------------

def mode(spec: Mapping) -> str:
    """replicated, global, replicated-job or global-job (restart_policy
    `condition: none` counts as a job: it runs once), by the rules the deploy's
    wait uses (engine/convergence)."""
    job = convergence.job_mode(spec)
    if job is not None:
        return job
    base = "global" if "Global" in (spec.get("Mode") or {}) else "replicated"
    return f"{base}-job" if convergence.one_shot(spec) else base


def job_result(tasks: Iterable[Mapping], service: Mapping | None = None) -> dict:
    """The last result of a job's tasks: {"result": "completed" | "failed" |
    "running" | "none", "detail": the error or exit code, "at": its time}.
    A Swarm job (`service` given) is judged by the rule a deploy waits with
    (engine/convergence.progress, on its current run): a job the engine
    restarts after each failure (a stack's default) is "failed" once its
    attempts are spent, as the deploy said, not "running" again. A one-shot
    service (restart condition none) by its latest task."""
    tasks = list(tasks)
    latest = max(tasks, key=lambda t: (t.get("Status") or {}).get("Timestamp") or "",
                 default=None)
    if latest is None:
        return {"result": "none", "detail": "", "at": None}
    at = (latest.get("Status") or {}).get("Timestamp")
    if service is not None and convergence.job_mode(service["Spec"]) is not None:
        state, detail, _ids = convergence.progress(dict(service), [dict(t) for t in tasks])
        result = {"done": "completed", "failed": "failed"}.get(state, "running")
        return {"result": result, "detail": detail if result == "failed" else "", "at": at}
    status = latest.get("Status") or {}
    state = status.get("State", "")
    detail = ""
    if state in FAILED:
        code = (status.get("ContainerStatus") or {}).get("ExitCode")
        detail = f"exit {code}" if code else (status.get("Err") or status.get("Message") or "")
        result = "failed"
    elif state == "complete":
        result = "completed"
    elif state in ACTIVE:
        result = "running"
    else:
        result = state or "none"
    return {"result": result, "detail": detail, "at": status.get("Timestamp")}


def _image(spec):
    image = ((spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}).get("Image", "")
    ref, _, digest = image.partition("@")
    return ref, digest or None


def _when(seconds):
    if seconds is None:
        return None
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def rows(read_: Mapping) -> dict:
    """The status of one stack as plain data (the keys of `--format json`,
    README "doit status")."""
    namespace = read_["namespace"]
    deployed = read_["services"]
    send = read_["send"] or {}
    by_service: dict[str, list] = {}
    for task in read_["tasks"]:
        by_service.setdefault(task.get("ServiceID"), []).append(task)
    names = list(read_["workspace"]) + sorted(
        {full[len(namespace) + 1:] for full in deployed} - set(read_["workspace"]))
    services = []
    for name in names:
        full = f"{namespace}_{name}"
        service = deployed.get(full)
        row: dict[str, Any] = {"service": name, "name": full, "deployed": service is not None,
                               "mode": None, "running": 0, "desired": 0, "image": None,
                               "digest": None, "update": None, "job": None,
                               "urls": list(read_["urls"].get(name, ()))}
        problems = []
        if service is None:
            problems.append("not deployed")
        else:
            spec = service["Spec"]
            counts = service.get("ServiceStatus") or {}
            row.update(mode=mode(spec), running=counts.get("RunningTasks", 0),
                       desired=counts.get("DesiredTasks", 0),
                       update=(service.get("UpdateStatus") or {}).get("State"))
            row["image"], row["digest"] = _image(spec)
            if row["mode"].endswith("-job"):
                row["job"] = job_result(by_service.get(service["ID"], []), service)
                if row["job"]["result"] == "failed":
                    problems.append(f"job failed: {row['job']['detail']}".rstrip(": "))
            elif row["running"] < row["desired"]:
                problems.append(f"runs {row['running']} of its {row['desired']} tasks")
            if full in read_["remove"] or name not in read_["workspace"]:
                problems.append("not in the workspace (a deploy removes it)")
            elif name in send:
                problems.append(send[name])
            if row["update"] and row["update"].startswith("rollback"):
                problems.append(f"Swarm rolled its update back ({row['update']})")
        row["state"] = "; ".join(problems) or AS_SAID
        row["differs"] = bool(problems)
        services.append(row)
    reasons = list(read_["reasons"]) + ([read_["error"]] if read_["error"] else [])
    differs = bool(reasons) or any(s["differs"] for s in services)
    return {"stack": read_["stack"], "namespace": namespace, "differs": differs,
            "deployed": bool(deployed), "reasons": reasons,
            "version": read_["current"], "deployed_at": _when(read_["since"]),
            "rolled_back": read_["rolled_back"], "rollback_to": read_["previous"],
            "services": services}


def document(stacks: Sequence[Mapping], engine: str) -> dict:
    """The whole status: what `--format json` prints."""
    return {"schema": SCHEMA, "engine": engine, "differs": any(s["differs"] for s in stacks),
            "stacks": list(stacks)}


# --- rows -> text, HTML -----------------------------------------------------------------

def _replicas(row):
    return f"{row['running']}/{row['desired']}" if row["deployed"] else "-"


def _image_text(row):
    if not row["image"]:
        return "-"
    return f"{row['image']}@{row['digest'][:19]}" if row["digest"] else row["image"]


def _state(row):
    text = row["state"]
    job = row["job"]
    if job and job["result"] != "failed":
        text += f"; job {job['result']}"
    if row["update"] in ("updating", "paused"):
        text += f"; update {row['update']}"
    return text


def _heading(stack):
    parts = [stack["stack"]]
    if stack["version"]:
        parts.append(f"version {stack['version']} deployed {stack['deployed_at'] or '?'}")
    elif not stack["deployed"]:
        parts.append("not deployed")
    else:
        parts.append("not deployed by kargo")
    if stack["rolled_back"]:
        parts.append("rolled back (a deploy puts the workspace's back)")
    elif stack["rollback_to"]:
        parts.append(f"rollback:{stack['stack']} goes back to {stack['rollback_to']}")
    parts.append("DIFFERS" if stack["differs"] else "as the workspace says")
    return "  ".join(parts)


def lines(doc: Mapping) -> list[str]:
    """A terminal's view: a line per stack, one per service, then why the
    stack differs."""
    out = [f"engine: {doc['engine']}"]
    for stack in doc["stacks"]:
        out.append(_heading(stack))
        width = max((len(s["service"]) for s in stack["services"]), default=0)
        wide = max((len(_replicas(s)) for s in stack["services"]), default=0)
        image = max((len(_image_text(s)) for s in stack["services"]), default=0)
        for row in stack["services"]:
            urls = f"  {' '.join(row['urls'])}" if row["urls"] else ""
            out.append(f"  {row['service']:<{width}}  {_replicas(row):>{wide}}  "
                       f"{_image_text(row):<{image}}  {_state(row)}{urls}")
        out += [f"  ! {reason}" for reason in stack["reasons"]]
    return out


STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.3em; } h2 { font-size: 1.1em; margin-top: 1.5em; }
table { border-collapse: collapse; } th, td { padding: .25em .8em; text-align: left; }
th { border-bottom: 1px solid #999; } tr.differs td { background: #fde0dd; }
.ok { color: #1a7f37; } .bad { color: #b00020; font-weight: bold; }
code { font-size: .95em; } ul { margin: .3em 0; }
"""


def page(doc: Mapping, generated: str) -> str:
    """One self-contained HTML page (its style inline; no script, no link to
    anything but the services' own URLs)."""
    e = html.escape
    body = [f"<h1>kargo status</h1><p>engine: <code>{e(doc['engine'])}</code><br>"
            f"written {e(generated)}: "
            + ('<span class="bad">something differs from the workspace</span>'
               if doc["differs"] else '<span class="ok">all as the workspace says</span>')
            + "</p>"]
    for stack in doc["stacks"]:
        body.append(f"<h2>{e(_heading(stack))}</h2>")
        if stack["reasons"]:
            body.append("<ul>" + "".join(f"<li>{e(r)}</li>" for r in stack["reasons"]) + "</ul>")
        body.append("<table><tr><th>service</th><th>mode</th><th>running</th><th>image</th>"
                    "<th>state</th><th>URLs</th></tr>")
        for row in stack["services"]:
            links = " ".join(f'<a href="{e(u)}">{e(u)}</a>' for u in row["urls"])
            body.append(f'<tr class="{"differs" if row["differs"] else "same"}">'
                        f"<td>{e(row['service'])}</td><td>{e(row['mode'] or '-')}</td>"
                        f"<td>{e(_replicas(row))}</td><td><code>{e(_image_text(row))}</code></td>"
                        f"<td>{e(_state(row))}</td><td>{links}</td></tr>")
        body.append("</table>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>kargo status</title><style>{STYLE}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")
