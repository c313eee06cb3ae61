"""Atomic, mode-exact file writes into the merged configuration.

A write goes to a temp file in the same folder, is chmod'ed explicitly (so
the umask never widens a secret file) and renamed over the target: an
interrupted run leaves the old file or the new one, never half of one.
`os.replace` renames over a symlink instead of following it. Records kargo
keeps (cluster records, the digest key) are also fsync'ed before the rename;
merged files are not (`durable=False`): one fsync each made a 10,000-file
configure three times slower, and a merged file a power loss left short has
another size than the stamp its task recorded, so the next run rewrites it.
"""
import errno
import os
import stat
from collections.abc import Iterable
from pathlib import Path

from .errors import KargoError

PRIVATE_DIR = 0o700
SECRET_FILE = 0o600
PLAIN_FILE = 0o644
# what the system says when it refuses a write: said as one line
REFUSED = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO}


# Folders this process made or checked already: a configure of thousands of
# files in a few folders asks for each folder once, not once per file.
_ENSURED: set[tuple[str, int]] = set()


def ensure_dir(path: str | os.PathLike, mode: int = PRIVATE_DIR) -> None:
    """Create `path` (and parents) with `mode`; tighten it if it exists."""
    key = (str(path), mode)
    if key in _ENSURED:
        return
    _ensure_dir(Path(path), mode)
    _ENSURED.add(key)


def forget_folders() -> None:
    _ENSURED.clear()


def _ensure_dir(path, mode):
    # mkdir(parents=True) gives the parents it creates 0o777 & ~umask: under
    # `umask 000` `.kargo/configs/` would be world-writable. Create each one.
    missing = []
    while not path.exists() and path != path.parent:
        missing.append(path)
        path = path.parent
    for folder in reversed(missing):
        folder.mkdir(exist_ok=True, mode=mode)
        os.chmod(folder, mode)
    path = missing[0] if missing else path
    path.mkdir(exist_ok=True, mode=mode)  # FileExistsError when it is a file
    if path.stat().st_mode & 0o777 != mode:
        os.chmod(path, mode)


def write_atomic(path: str | os.PathLike, data: bytes, mode: int = PLAIN_FILE,
                 durable: bool = True) -> None:
    """Write `data` to `path` whole or not at all. A write the system refuses
    (a full disk, a read-only one) is one line naming the file, once the
    temp file is gone (the space it took is back)."""
    path = os.fspath(path)
    folder, name = os.path.split(path)
    tmp = os.path.join(folder, f".{name}.{os.getpid()}.tmp")
    fd = None
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as out:
            fd = None
            out.write(data)
            if durable:
                out.flush()
                os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        if fd is not None:
            os.close(fd)
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(exc, OSError) and exc.errno in REFUSED:
            raise KargoError(f"cannot write: {exc.strerror}", where=path) from None
        raise


def write_if_changed(path: str | os.PathLike, data: bytes, mode: int = PLAIN_FILE,
                     durable: bool = True) -> bool:
    """Write only when bytes or mode differ, so an unchanged output keeps its
    mtime and nothing downstream goes stale. Returns True when it wrote."""
    path = os.fspath(path)
    try:
        st = os.lstat(path)
        same = (stat.S_ISREG(st.st_mode) and st.st_mode & 0o777 == mode
                and st.st_size == len(data) and _read(path) == data)
    except FileNotFoundError:
        same = False
    if same:
        return False
    folder = os.path.dirname(path)
    ensure_dir(folder)
    try:
        write_atomic(path, data, mode, durable)
    except FileNotFoundError:  # the folder was removed since (configure's prune)
        _ENSURED.clear()
        ensure_dir(folder)
        write_atomic(path, data, mode, durable)
    return True


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def fingerprint(path):
    """[mtime_ns, size, sha256] of a file, or None when it is gone."""
    import hashlib
    try:
        st = os.stat(path)
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except FileNotFoundError:
        return None
    return [st.st_mtime_ns, st.st_size, digest]


def fingerprints(paths: Iterable[str | os.PathLike]) -> dict[str, list | None]:
    return {str(p): fingerprint(p) for p in sorted(set(map(str, paths)))}


def changed_files(saved: dict[str, list | None] | None) -> list[str]:
    """The files of `saved` (from `fingerprints`) whose content changed; a
    file whose stamp is unchanged is not read again."""
    changed = []
    for path, old in (saved or {}).items():
        try:
            st = os.stat(path)
        except FileNotFoundError:
            if old is not None:
                changed.append(path)
            continue
        if old is None:
            changed.append(path)
        elif [st.st_mtime_ns, st.st_size] != old[:2]:
            new = fingerprint(path)
            if new is None or new[2] != old[2]:
                changed.append(path)
    return changed
