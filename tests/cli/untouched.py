"""What "bad input changes nothing" compares: every file of `.kargo/`, the
doit database by its rows (and bytes), the `.workspace` record; and a probe
standing in for the engine (DOCKER_HOST) that counts the connections made."""
import os
import sqlite3

import pytest

from support import EngineProbe


@pytest.fixture
def probe():
    p = EngineProbe()
    yield p
    p.close()


def db_rows(path):
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return dict(conn.execute("select task_id, task_data from doit").fetchall())
    finally:
        conn.close()


def state(kargo, db_bytes=True, compose_copies=False):
    """Everything a run could change on disk: each path of `.kargo/` (but the
    run lock, which records each run's pid) with its bytes or link target,
    mtime and mode, and the `.workspace` record. The doit database by its
    rows, and by its bytes and mtime unless `db_bytes` is false. With
    `compose_copies`, not the merged compose files and their configure rows."""
    found = {}
    for path in [kargo.merged, *sorted(kargo.merged.rglob("*"))]:
        rel = path.relative_to(kargo.merged).as_posix()
        if rel == ".state/run.lock" or (compose_copies and rel.startswith("deploy")):
            continue
        st = os.lstat(path)
        if rel == ".state/doit.db":
            rows = {task: data for task, data in db_rows(path).items()
                    if not (compose_copies and task.startswith("_configure:deploy/"))}
            found[rel] = (rows, path.read_bytes() if db_bytes else None,
                          st.st_mtime_ns if db_bytes else None, st.st_mode)
            continue
        if rel == ".state":
            # its mtime moves with the run lock's creation and the db's
            # journal; every file in it is compared on its own
            found[rel] = ("dir", st.st_mode)
            continue
        if os.path.islink(path):
            body = ("link", os.readlink(path))
        elif path.is_dir():
            body = ("dir",)
        else:
            body = path.read_bytes()
        found[rel] = (body, st.st_mtime_ns, st.st_mode)
    record = kargo.root / ".workspace"
    found["<record>"] = record.read_bytes() if record.exists() else None
    return found


def one_error_line(proc):
    assert proc.returncode != 0, proc.stdout
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    return lines[0]
