"""Everything the task creators read, loaded once per doit run.

Loading reads only the env files and directory listings (no file contents,
no engine): `doit list` stays fast and works without a daemon. An error in
the operator's input is kept, not raised, so `use` can still fix it and the
tasks that need the input fail with it as one line.
"""
import functools
import os
import secrets

from kargo_tasks.base import lock
from kargo_tasks.base.errors import KargoError
from kargo_tasks.base.files import SECRET_FILE, write_atomic
from kargo_tasks.workspace import catalog as catalog_mod
from kargo_tasks.workspace import chain, environment, merge, sealed
from kargo_tasks.workspace import layout as workspace_mod
from kargo_tasks.workspace.project import Project


def env_files(lay, workspace, bases=()):
    """The env files, earliest first: the defaults', then each base's from the
    farthest (chain.py), then the workspace's; a `.env.age` right after the
    `.env` of its folder."""
    files = [lay.defaults / ".env.default"]
    if workspace is None:
        return files
    for folder in [*(base.path for base in bases), workspace]:
        if (folder / ".env").exists():
            files.append(folder / ".env")
        if (folder / sealed.ENV_FILE).exists():
            files.append(folder / sealed.ENV_FILE)  # decrypted in memory (sealed.py)
    return files


def load(root=None, shell=None):
    shell = os.environ if shell is None else shell
    project = Project(workspace_mod.layout(root, shell), shell=shell)
    lay = project.layout
    try:
        project.workspace = workspace_mod.resolve(lay, shell)
    except KargoError as err:
        project.error = err
    workspace = project.workspace
    try:
        if workspace is not None:
            project.bases = chain.bases(workspace)
        files = env_files(lay, workspace, project.bases)
        project.env = environment.load(files, shell)
        chain.check_origin(project.env.origins, files)
        project.overlay = merge.overlay(merge.layers(lay, workspace, project.bases))
        project.catalog = catalog_mod.build(project.env, project.overlay)
    except KargoError as err:
        project.error = project.error or err
    return project


def engine_settings(project):
    """(environ, sources) choosing the engine (endpoint.resolve): the
    variables endpoint.VARIABLES of the run's environment, the shell first,
    then the workspace `.env`, then the defaults env file, as the bash Kargo
    exported them to every docker command, and where a file set them. When
    the environment cannot be read, only those variables are read again from
    the files (a broken line elsewhere does not hide the engine the
    workspace names); an error in them is the engine's error."""
    from kargo_tasks.base.errors import EngineError
    from kargo_tasks.engine.endpoint import VARIABLES, Source
    env = project.env
    if env is None:
        files = env_files(project.layout, project.workspace, project.bases)
        try:
            env = environment.load(files, project.shell, only=VARIABLES)
        except KargoError as err:
            raise EngineError(f"cannot choose the Docker engine: {err}",
                              command="choose the Docker engine") from None
    workspace_env = str(project.workspace / ".env") if project.workspace else None
    # an engine the shell names (`DOCKER_CONTEXT=staging doit deploy`) is the
    # one: a DOCKER_HOST of the files would beat a DOCKER_CONTEXT (the CLI's
    # order), so the files' are not read then
    named = [n for n in ("DOCKER_HOST", "DOCKER_CONTEXT")
             if env.get(n) and env.origins.get(n, "shell") == "shell"]
    environ, sources = {}, {}
    for name in VARIABLES:
        if name not in env:
            continue
        if named and name in ("DOCKER_HOST", "DOCKER_CONTEXT") and name not in named:
            continue
        environ[name] = env.get(name)
        origin = env.origins.get(name, "shell")
        if origin == "shell":
            continue
        path = origin.rsplit(":", 1)[0]
        base = project.base_of(path)
        shown = (f"the workspace .env {origin}" if path == workspace_env
                 else f"the .env of the base {base.name} {origin}" if base
                 else f"the defaults env file {origin}")
        sources[name] = Source(shown, os.path.dirname(path))
    return environ, sources


@functools.lru_cache(maxsize=None)
def current() -> Project:
    """The project of this process (the repo this package lives in), with
    the run lock taken when the command may run tasks. Its environment
    chooses the engine of the run (engine.choose)."""
    project = load()
    try:
        lock.acquire(project.layout)
    except KargoError as err:
        from doit.exceptions import InvalidDodoFile
        raise InvalidDodoFile(str(err))  # doit prints it as one line, no traceback
    from kargo_tasks.engine import client as engine
    engine.choose(functools.partial(engine_settings, project))
    return project


@functools.lru_cache(maxsize=None)
def digest_key(lay: workspace_mod.Layout) -> bytes:
    """The random key that makes stored digests of env values unguessable."""
    path = lay.state / "digest.key"
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    lay.make_state()
    # `doit -n` workers may all find no key: the first to link its own wins,
    # the others read that one (replacing it would orphan their digests)
    tmp = lay.state / f".digest.key.{os.getpid()}"
    write_atomic(tmp, secrets.token_bytes(32), SECRET_FILE)
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return path.read_bytes()
