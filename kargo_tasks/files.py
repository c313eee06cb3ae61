"""Atomic, mode-exact file writes into the merged configuration.

A write goes to a temp file in the same folder, is fsync'ed, chmod'ed
explicitly (so the umask never widens a secret file) and renamed over the
target: an interrupted run leaves the old file or the new one, never half of
one. `os.replace` renames over a symlink instead of following it.
"""
import os
from pathlib import Path

PRIVATE_DIR = 0o700
SECRET_FILE = 0o600
PLAIN_FILE = 0o644


def ensure_dir(path, mode=PRIVATE_DIR):
    """Create `path` (and parents) with `mode`; tighten it if it exists."""
    path = Path(path)
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


def write_atomic(path, data, mode=PLAIN_FILE):
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as out:
            fd = None
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        if fd is not None:
            os.close(fd)
        tmp.unlink(missing_ok=True)
        raise


def write_if_changed(path, data, mode=PLAIN_FILE):
    """Write only when bytes or mode differ, so an unchanged output keeps its
    mtime and nothing downstream goes stale. Returns True when it wrote."""
    path = Path(path)
    try:
        st = os.lstat(path)
        same = (not os.path.islink(path) and st.st_mode & 0o777 == mode
                and st.st_size == len(data) and path.read_bytes() == data)
    except FileNotFoundError:
        same = False
    if same:
        return False
    ensure_dir(path.parent)
    write_atomic(path, data, mode)
    return True


def fingerprint(path):
    """[mtime_ns, size, sha256] of a file, or None when it is gone."""
    import hashlib
    try:
        st = os.stat(path)
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except FileNotFoundError:
        return None
    return [st.st_mtime_ns, st.st_size, digest]


def fingerprints(paths):
    return {str(p): fingerprint(p) for p in sorted(set(map(str, paths)))}


def changed_files(saved):
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
