"""`KARGO_NOTIFY`: one JSON POST per run that changed the cluster or failed
(a deploy, rollback, job run or sync), to each URL it names (separated by
blanks or commas).

The body is built apart from sending it (`body` is pure): Slack's and
Mattermost's incoming webhooks take its `"text"`; anything else reads the
structured fields beside it: the command, workspace, git revision of the
workspace, kargo's version, the stacks, each service sent and why, those
removed, the outcome, the failing lines, the duration. It holds names and
the lines kargo prints, never a value of the environment. A URL that cannot
be reached (refused, a timeout of `TIMEOUT` seconds, an HTTP error) is one
warning line naming its scheme and host only (a webhook's path is its
secret), never a failure of the run.
"""
import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Sequence
from pathlib import Path

VARIABLE = "KARGO_NOTIFY"
TIMEOUT = 5.0


def urls(value: str | None) -> list[str]:
    """The URLs of a KARGO_NOTIFY value (blanks or commas between them)."""
    return [u for u in re.split(r"[\s,]+", value or "") if u]


def body(command: str, entries: Sequence[dict], failed: Iterable[str], *, workspace: str | None,
         revision: str | None, version: str, seconds: float) -> dict | None:
    """The notification of a run, or None when it changed nothing and
    nothing failed. `entries`: what each action kept (deploy/outcome.py);
    `failed`: the one-line errors of the tasks that failed."""
    services = [{"stack": e["stack"], "service": name, "why": why, "action": e["action"]}
                for e in entries for name, why in e.get("sent", {}).items()]
    removed = [{"stack": e["stack"], "service": name, "action": e["action"]}
               for e in entries for name in e.get("removed", ())]
    failures = list(dict.fromkeys(
        [line for e in entries for line in e.get("failures", ())]
        + [line for message in failed for line in message.splitlines() if line.strip()]))
    if not services and not removed and not failures:
        return None
    stacks = list(dict.fromkeys(e["stack"] for e in entries))
    outcome = "failed" if failures else "succeeded"
    where = workspace or "(no workspace)"
    head = (f"kargo {command} {outcome} on {where}"
            + (f" at {revision[:12]}" if revision else "") + f" ({seconds:.0f}s)")
    lines = [head]
    for stack in stacks:
        sent = [f"{s['service']} ({s['why']})" for s in services if s["stack"] == stack]
        gone = [f"{s['service']} (removed)" for s in removed if s["stack"] == stack]
        if sent or gone:
            lines.append(f"{stack}: " + ", ".join(sent + gone))
    lines += failures
    return {"text": "\n".join(lines), "command": command, "outcome": outcome,
            "workspace": workspace, "revision": revision, "kargo": version,
            "stacks": stacks, "services": services, "removed": removed,
            "failures": failures, "duration_seconds": round(seconds, 1)}


def send(targets: Sequence[str], payload: dict, timeout: float = TIMEOUT) -> list[str]:
    """POST `payload` as JSON to each of `targets`; a warning line per URL
    that did not take it (the run goes on)."""
    data = json.dumps(payload).encode("utf-8")
    warnings = []
    for url in targets:
        request = urllib.request.Request(url, data=data, method="POST",
                                         headers={"Content-Type": "application/json",
                                                  "User-Agent": f"kargo/{payload['kargo']}"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                answer.read()
        except urllib.error.HTTPError as err:
            warnings.append(f"notification not delivered to {_site(url)}: HTTP {err.code}")
        except (urllib.error.URLError, OSError, ValueError) as err:
            reason = getattr(err, "reason", None) or err
            warnings.append(f"notification not delivered to {_site(url)}: {reason}")
    return warnings


def _site(url):
    """scheme://host[:port] of `url`: its path and query may be a secret."""
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}" + (f":{parts.port}" if parts.port else "")


def revision(workspace: Path | None) -> str | None:
    """The git commit the workspace is on, when it is a git repository."""
    if workspace is None:
        return None
    try:
        proc = subprocess.run(["git", "-C", str(workspace), "rev-parse", "HEAD"],
                              capture_output=True, text=True, stdin=subprocess.DEVNULL,
                              timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def after_run(command: str, entries: Sequence[dict], failed: Iterable[str],
              seconds: float) -> None:
    """Notify KARGO_NOTIFY (the workspace's environment, else the shell's)
    of the run, when it changed something or failed; warnings on stderr."""
    from kargo_tasks import __version__

    from .project import current
    project = current()
    value = (project.env.get(VARIABLE) if project.env is not None else None) \
        or os.environ.get(VARIABLE)
    targets = urls(value)
    if not targets:
        return
    failed = list(failed)
    workspace = str(project.workspace) if project.workspace else None
    if body(command, entries, failed, workspace=workspace, revision=None, version=__version__,
            seconds=seconds) is None:
        return  # nothing changed, nothing failed: git is not even asked
    payload = body(command, entries, failed, workspace=workspace,
                   revision=revision(project.workspace), version=__version__, seconds=seconds)
    if payload is None:
        return
    for line in send(targets, payload):
        print(f"kargo: warning: {line}", file=sys.stderr, flush=True)
