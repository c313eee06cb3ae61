"""The operator's commands on encrypted workspace files (sealed.py): encrypt
a file for the workspace's recipients, edit one, re-encrypt every one after
the recipients changed (`rekey`).

Paths are the workspace's (`secrets/db`), or absolute inside it. `edit`
decrypts into a private temporary folder (memory-backed when the system has
one: $XDG_RUNTIME_DIR, /dev/shm), runs $VISUAL or $EDITOR on the file there
and removes it whatever happens; nothing is written when the text is the same.
"""
import os
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from kargo_tasks.base.errors import ConfigError, KargoError
from kargo_tasks.base.files import PLAIN_FILE, write_atomic
from kargo_tasks.workspace import sealed
from kargo_tasks.workspace.project import Project


def _workspace(project):
    if project.workspace is None:
        project.require()
    return project.workspace


def _in_workspace(workspace, name):
    path = Path(name).expanduser()
    path = path if path.is_absolute() else workspace / path
    path = Path(os.path.abspath(path))
    try:
        rel = path.relative_to(workspace).as_posix()
    except ValueError:
        raise ConfigError(f"{name} is not a file of the workspace {workspace}") from None
    if rel.split("/", 1)[0] == ".git":
        raise ConfigError(f"{name} is git's, not a workspace file")
    return path, rel


def encrypt(project: Project, files: Sequence[str]) -> None:
    """`encrypt FILE...`: write FILE.age for the recipients, remove FILE."""
    workspace = _workspace(project)
    if not files:
        raise ConfigError("name the files to encrypt: doit encrypt secrets/db .env ...")
    lines = sealed.recipients(workspace)
    for name in files:
        path, rel = _in_workspace(workspace, name)
        if sealed.is_sealed(path):
            raise ConfigError("is encrypted already (`doit edit` changes it)", where=str(path))
        target = path.with_name(path.name + sealed.SUFFIX)
        if target.exists():
            raise ConfigError(f"{target.name} exists already: `doit edit` changes it",
                              where=str(path))
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read: {exc.strerror}", where=str(path)) from None
        write_atomic(target, sealed.encrypt(data, lines), PLAIN_FILE)
        path.unlink()
        print(f"encrypted {rel} -> {rel}{sealed.SUFFIX} for {len(lines)} recipient(s); "
              f"{rel} is removed (git's history still holds it)", flush=True)


def edit(project: Project, files: Sequence[str]) -> None:
    """`edit FILE`: change an encrypted file (a new one when it is missing)."""
    workspace = _workspace(project)
    if len(files) != 1:
        raise ConfigError("name one file to edit: doit edit secrets/db.age")
    path, rel = _in_workspace(workspace, files[0])
    if not sealed.is_sealed(path):
        path, rel = path.with_name(path.name + sealed.SUFFIX), rel + sealed.SUFFIX
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if not editor:
        raise ConfigError("set EDITOR (or VISUAL) to the editor to run")
    plain_path = path.with_name(path.name[: -len(sealed.SUFFIX)])
    if not path.exists() and plain_path.exists():
        raise ConfigError(f"{plain_path.name} is in clear: `doit encrypt` it first",
                          where=str(plain_path))
    lines = sealed.recipients(workspace)
    old = sealed.read_source(path) if path.exists() else b""
    new = _edited(old, plain_path.name, editor)
    if new == old:
        print(f"{rel}: unchanged", flush=True)
        return
    write_atomic(path, sealed.encrypt(new, lines), PLAIN_FILE)
    print(f"{rel}: encrypted for {len(lines)} recipient(s)", flush=True)


def private_tmp():
    """Where `edit` puts the decrypted file: a memory-backed folder when
    there is one, else the system's temporary folder."""
    for folder in (os.environ.get("XDG_RUNTIME_DIR"), "/dev/shm"):
        if folder and os.path.isdir(folder) and os.access(folder, os.W_OK | os.X_OK):
            return folder
    return None


def _edited(data, name, editor):
    folder = tempfile.mkdtemp(prefix="kargo-edit-", dir=private_tmp())  # 0700
    path = os.path.join(folder, name)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        try:
            code = subprocess.run([*shlex.split(editor), path]).returncode
        except OSError as exc:
            raise KargoError(f"cannot run the editor {editor!r}: {exc.strerror}") from None
        if code != 0:
            raise KargoError(f"the editor exited {code}: nothing is changed")
        with open(path, "rb") as f:
            return f.read()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def sealed_files(workspace):
    """Every encrypted file of the workspace (git's folders left out, and the
    folders with an `.age-recipients` of their own: a base kept inside the
    workspace, or a workspace inside the base, is encrypted for its own)."""
    found = []
    for top, dirs, files in os.walk(workspace):
        dirs[:] = sorted(d for d in dirs if d != ".git"
                         and not (Path(top) / d / sealed.RECIPIENTS).is_file())
        found += [Path(top) / f for f in sorted(files) if sealed.is_sealed(f)]
    return found


def rekey(project: Project) -> None:
    """`rekey`: every encrypted file again, for the recipients listed now.
    Every file is decrypted before any is written: an identity that opens
    only some of them changes none."""
    workspace = _workspace(project)
    lines = sealed.recipients(workspace)
    plain = [(path, sealed.read_source(path)) for path in sealed_files(workspace)]
    for path, data in plain:
        write_atomic(path, sealed.encrypt(data, lines), path.stat().st_mode & 0o777)
    print(f"rekeyed {len(plain)} file(s) for {len(lines)} recipient(s)", flush=True)
