"""The corpus of compose files, resolved by kargo and read the bash Kargo way.

The bash Kargo exported its `.env` layers and ran `docker stack deploy -c
deploy/<service>.yml [-c deploy/<extension>.yml] [-c <service>-deploy-
constraints.yml] ...`. `bash_way` builds exactly that command line (the
constraints file as the bash Kargo generated it), for `docker stack config`
(offline) or `docker stack deploy` (the engine tests).
"""
import json
import os
import subprocess
from pathlib import Path

from kargo_tasks.compose import resolve as compose, dockeryaml
from kargo_tasks.workspace import catalog, environment

CORPUS = Path(__file__).resolve().parent / "corpus"
BASE_ENV = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root")}


def corpus_env(shell=None):
    return environment.load([CORPUS / ".env"], dict(BASE_ENV, **(shell or {})))


def stacks(env):
    return [catalog.Stack(name, tuple(env.words(f"{environment.prefix(name)}_STACK")), ())
            for name in env.words("STACKS")]


def kargo_file(stack, env, folder, root=CORPUS):
    """kargo's resolved stack file, written in `folder`: (path, Resolved)."""
    resolved = compose.resolve(stack, root, env)
    path = Path(folder) / f"{stack.name}.yml"
    path.write_text(resolved.text, encoding="utf-8")
    return path, resolved


def bash_files(stack, env, folder, root=CORPUS):
    """The -c files of the bash Kargo's `docker stack deploy` for `stack`."""
    files = []
    for service in stack.services:
        main = root / catalog.compose_file(service)
        files.append(main)
        extension = env.get(f"{environment.prefix(service)}_EXTENSION", "")
        if extension:
            files.append(root / f"deploy/{extension}.yml")
        constraints = _bash_constraints(main, env)
        if constraints:
            path = Path(folder) / f"{service}-deploy-constraints.yml"
            path.write_text(constraints, encoding="utf-8")
            files.append(path)
    return files


def _bash_constraints(main, env):
    """The file the bash Kargo generated from `<SERVICE>_CONSTRAINTS` for each
    service key of a compose file (same version as the file, or Docker
    refuses the mix)."""
    doc = dockeryaml.load(main.read_text(encoding="utf-8"), str(main))[0]
    lines = []
    for name in doc.get("services") or {}:
        words = env.words(f"{environment.prefix(name)}_CONSTRAINTS")
        if words:
            lines += [f"  {name}:", "    deploy:", "      placement:", "        constraints:"]
            lines += [f"          - {json.dumps(w)}" for w in words]
    if not lines:
        return ""
    version = f"version: {json.dumps(doc['version'])}\n" if "version" in doc else ""
    return version + "services:\n" + "\n".join(lines) + "\n"


def docker(args, env=None, cwd=None, check=True):
    proc = subprocess.run(["docker", *args], capture_output=True, text=True, cwd=cwd,
                          env=dict(BASE_ENV, **(env or {})), timeout=120)
    if check and proc.returncode:
        raise AssertionError(f"docker {' '.join(args)}: {proc.stderr}")
    return proc


def bash_way(args, files, cwd=CORPUS, check=True):
    """`docker <args> -c f1 -c f2 ...` with the corpus .env exported by bash."""
    command = ["docker", *args] + [x for f in files for x in ("-c", str(f))]
    script = 'set -a; . ./.env; set +a; exec "$@"'
    proc = subprocess.run(["bash", "-c", script, "bash", *command], capture_output=True,
                          text=True, cwd=cwd, env=dict(BASE_ENV), timeout=120)
    if check and proc.returncode:
        raise AssertionError(f"{' '.join(command)}: {proc.stderr}")
    return proc


def normalized(config):
    """A `docker stack config` document without what kargo changes on
    purpose: its own label, the content-hash names of configs and secrets,
    the keys the engine never receives (ignored ones, env_file: read into
    environment), and the version line."""
    config = json.loads(json.dumps(config))
    config.pop("version", None)
    for spec in (config.get("services") or {}).values():
        for key in list(spec):
            if key in compose.IGNORED or key == "env_file":
                del spec[key]
        labels = (spec.get("deploy") or {}).get("labels") or {}
        labels.pop(compose.SPEC_LABEL, None)
        if spec.get("deploy") is not None and not labels:
            spec["deploy"].pop("labels", None)
        if spec.get("deploy") == {}:
            del spec["deploy"]
    for kind in ("configs", "secrets"):
        for item in (config.get(kind) or {}).values():
            item.pop("name", None)
    return config


class Refused(Exception):
    """One side refused the file: its one line (kargo) or stderr (the CLI)."""


def both_ways(folder, text, shell=None, name="x"):
    """(kargo's, the CLI's) reading of one compose file `text` (or bytes), written as
    `folder`/deploy/`name`.yml, with the environment `shell` (and nothing
    else): each `docker stack config` of it normalized, or Refused. kargo's
    side is `docker stack config` of kargo's stack file, read with no
    environment at all (it holds no reference left to resolve)."""
    folder = Path(folder)
    (folder / "deploy").mkdir(parents=True, exist_ok=True)
    source = folder / "deploy" / f"{name}.yml"
    if isinstance(text, bytes):  # a file's bytes as they are
        source.write_bytes(text)
    else:
        source.write_text(text, encoding="utf-8")
    values = dict(BASE_ENV, **(shell or {}))
    try:
        env = environment.load([], values)
        resolved = compose.resolve(catalog.Stack("t", (name,), ()), folder, env)
    except Exception as exc:  # noqa: BLE001 - any refusal is one side's answer
        kargo = Refused(f"{type(exc).__name__}: {exc}")
    else:
        out = folder / f"kargo-{name}.yml"
        out.write_text(resolved.text, encoding="utf-8")
        proc = docker(["stack", "config", "-c", str(out)], cwd=folder, check=False)
        kargo = (Refused(f"the CLI refuses kargo's file: {proc.stderr.strip()}") if proc.returncode
                 else normalized(_cli_output(proc.stdout)))
    proc = subprocess.run(["docker", "stack", "config", "-c", str(source)], capture_output=True,
                          text=True, cwd=folder, env=values, timeout=120)
    cli = Refused(proc.stderr.strip()) if proc.returncode else normalized(_cli_output(proc.stdout))
    return kargo, cli


def _cli_output(text):
    """`docker stack config`'s output, read as go-yaml writes it (PyYAML
    would read a plain `=` as its value tag)."""
    return dockeryaml.load(text, "docker stack config")[0]
