"""The only place that talks to the Docker engine.

docker-py (imported lazily, so `doit list` and `configure` never pay for it)
for everything but `docker stack deploy`, which is the CLI's own compose
implementation. Every failure becomes an EngineError carrying the command,
the exit code and the engine's message.
"""
import functools
import os
import subprocess

from .errors import EngineError

NOT_RUNNING = "the Docker engine is not answering"


def _where():
    return os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")


@functools.lru_cache(maxsize=None)
def client():
    import docker
    try:
        return docker.from_env(timeout=120)
    except docker.errors.DockerException as exc:
        raise EngineError(f"{NOT_RUNNING} on {_where()}", command="docker version",
                          stderr=str(exc), hint="start dockerd, e.g. bash scripts/engine-up")


def call(what, func, *args, **kwargs):
    """Run one docker-py call; `what` names it in the error ("list services")."""
    import docker
    import requests
    try:
        return func(*args, **kwargs)
    except docker.errors.APIError as exc:
        message = exc.explanation or str(exc)
        raise EngineError(f"{what}: {message}", command=what,
                          exit_code=exc.status_code, stderr=message)
    except (requests.exceptions.ConnectionError, docker.errors.DockerException) as exc:
        raise EngineError(f"{what}: {NOT_RUNNING} on {_where()}", command=what, stderr=str(exc))


def run_cli(args, *, what=None, timeout=600):
    """Run `docker <args>`; returns stdout, raises EngineError with stderr."""
    command = ["docker", *args]
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise EngineError("the docker command is not installed", command=" ".join(command))
    except subprocess.TimeoutExpired:
        raise EngineError(f"{what or ' '.join(command)}: no answer after {timeout}s",
                          command=" ".join(command))
    if proc.returncode != 0:
        stderr = proc.stderr.strip()
        last = stderr.splitlines()[-1] if stderr else f"exit code {proc.returncode}"
        if "Cannot connect to the Docker daemon" in stderr:
            last = f"{NOT_RUNNING} on {_where()}"
        raise EngineError(f"{what or ' '.join(command[:3])}: {last}", command=" ".join(command),
                          exit_code=proc.returncode, stderr=stderr)
    return proc.stdout
