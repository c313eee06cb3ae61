"""State lost, engine restarted, disk full, objects removed behind kargo's
back: one line when kargo cannot go on, and a next run that completes
exactly the unfinished work (nothing sent or built that already is)."""
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from image_fixtures import images, prefix  # noqa: F401
from stack_fixtures import sent, stackenv, stuck_stack  # noqa: F401
from support import REPO, write

pytestmark = pytest.mark.slow

NOT_ANSWERING = "the Docker engine is not answering on"


def errors(text):
    return [line for line in text.splitlines() if line.strip()]


def damage(path, how):
    if how == "deleted":
        path.unlink()
    elif how == "truncated":
        with open(path, "r+b") as f:
            f.truncate(os.path.getsize(path) // 3)
    elif how == "garbage":  # over the pages after the first: the header still reads
        with open(path, "r+b") as f:
            f.seek(4096)
            f.write(os.urandom(8192))
    else:  # rows: a sound file, every task's row not doit's JSON
        conn = sqlite3.connect(path)
        with conn:
            conn.execute("update doit set task_data = '{ not json'")
        conn.close()


# --- the doit database and kargo's records -----------------------------------------------

@pytest.mark.parametrize("how", ["deleted", "truncated", "garbage", "rows"])
def test_doit_database_lost_the_next_deploy_sends_nothing(stackenv, how):
    env = stackenv
    env.run("deploy")
    before, merged = env.versions(), env.kargo.snapshot()
    db = env.kargo.merged / ".state/doit.db"
    damage(db, how)
    proc = env.run("deploy")
    if how == "deleted":
        assert proc.stderr == ""
    elif how == "rows":
        assert errors(proc.stderr) == [
            f"kargo: a record of the doit database {db} could not be read (Expecting property "
            "name enclosed in double quotes: line 1 column 3 (char 2)): its task is checked "
            "again against its files and the engine"], proc.stderr
    else:
        assert errors(proc.stderr) == [
            f"kargo: the doit database {db} could not be read (database disk image is "
            "malformed): kept as doit.db.corrupt, a new one is made; every task is checked "
            "again against its files and the engine"], proc.stderr
        assert (db.parent / "doit.db.corrupt").exists()
    assert sent(proc) == []
    assert env.versions() == before  # not one service sent
    assert env.kargo.snapshot() == merged  # not one merged or stack file rewritten
    assert env.run("deploy").stdout == ""  # and the database knows it all again


@pytest.mark.parametrize("how", ["deleted", "garbage"])
def test_cluster_record_lost_the_next_deploy_sends_nothing(stackenv, how):
    env = stackenv
    env.run("deploy")
    before = env.versions()
    record = env.kargo.merged / f".state/clusters/{env.a}.json"
    if how == "deleted":
        record.unlink()
    else:
        record.write_text("{ not json")
    plan = env.run("plan", check=False)
    assert f"{env.a}: no record of kargo's last deploy: the services are compared with " \
           "the stack file" in plan.stdout, plan.stdout
    proc = env.run("deploy")
    assert f"deploy {env.a}: no service changed" in proc.stdout
    assert sent(proc) == [env.a]
    assert env.versions() == before
    assert record.exists()
    assert env.run("deploy").stdout == ""


def test_doit_database_lost_the_next_build_builds_nothing(images):
    images.write_root()
    images.run("build")
    ids = {i: images.image_id(images.ref(i)) for i in (images.a, images.b)}
    (images.kargo.merged / ".state/doit.db").unlink()
    since = images.now()
    proc = images.run("build")
    until = images.now()
    assert "Step " not in proc.stdout and "push " not in proc.stdout, proc.stdout
    assert images.our_events(since, until) == []  # no build step, tag or push
    assert {i: images.image_id(images.ref(i)) for i in (images.a, images.b)} == ids
    assert images.run("build").stdout == ""


# --- the engine restarted ---------------------------------------------------------------

def restart_dockerd():
    """Stop this machine's dockerd and start it again (scripts/engine-up);
    back once the swarm answers as a manager again."""
    pid = int(Path("/var/run/docker.pid").read_text())
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 90
    while Path(f"/proc/{pid}").exists():
        assert time.monotonic() < deadline, "dockerd did not stop"
        time.sleep(0.2)
    subprocess.run(["bash", str(REPO / "scripts/engine-up")], check=True,
                   capture_output=True, timeout=180)
    deadline = time.monotonic() + 120
    while subprocess.run(["docker", "node", "ls"], capture_output=True).returncode:
        assert time.monotonic() < deadline, "the swarm has no manager after the restart"
        time.sleep(1)


@pytest.mark.swarm
def test_dockerd_restarted_during_the_deploy_wait(stackenv, background):
    env = stackenv
    c, base = stuck_stack(env)
    stuck = env.service(c, "stuck")
    run = background(env.kargo, f"deploy:{c}", env={"KARGO_DEPLOY_TIMEOUT": "300"})
    run.wait_for(lambda: f"  {stuck}  0/1 running" in run.stdout, what="the wait")
    restart_dockerd()
    assert run.finish(timeout=120) != 0
    line, = errors(run.stderr)
    assert line.startswith(f"kargo: deploy:{c}: the wait was cut off: "), line
    # the engine was down, or back without its swarm yet, when kargo asked
    assert NOT_ANSWERING in line or "This node is not a swarm manager" in line, line
    assert line.endswith("(the next deploy completes what did not converge)"), line
    # the next run completes the unfinished work, and only that
    env.set_env(base)
    proc = env.run(f"deploy:{c}")
    assert sent(proc) == [c]
    assert len(env.running(stuck)) == 1
    assert env.run(f"deploy:{c}").stdout == ""


SLOW_DOCKERFILE = """\
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN ["/bin/sh", "-c", "echo building {token}; sleep 20"]
COPY marker.txt /marker.txt
CMD ["sleep", "3600"]
"""


@pytest.mark.swarm
def test_dockerd_restarted_during_a_build(images, background):
    images.write_root()
    images.run("build")
    ref_b = images.ref(images.b)
    old_b = images.image_id(ref_b)
    # a step of this run's own: the engine keeps the build cache of earlier
    # runs (the tests remove their images without pruning their parents)
    write(images.kargo.workspace / "images" / images.b / "Dockerfile",
          SLOW_DOCKERFILE.format(token=images.unique))
    run = background(images.kargo, f"build:{images.b}")
    run.wait_for(lambda: "sleep 20" in run.stdout, what="the slow step")
    time.sleep(1)
    restart_dockerd()
    assert run.finish(timeout=120) != 0
    line, = errors(run.stderr)
    assert line.startswith(f"kargo: build:{images.b}: "), line
    # the engine cut the stream, or (stopping) killed the step and said so first
    assert (NOT_ANSWERING in line or "connection" in line
            or line.endswith("returned a non-zero code: 137")), line
    assert images.image_id(ref_b) == old_b  # nothing tagged
    proc = images.run("build")
    assert images.ran(proc, f"build:{images.b}") and f"build:{images.a}" not in proc.stdout
    assert images.image_id(ref_b) not in (None, old_b)
    assert images.run("build").stdout == ""


# --- disk full --------------------------------------------------------------------------

@pytest.fixture
def small_disk(kargo):
    """`.kargo/` on a tmpfs of 512 KiB, grown by `grow()`."""
    kargo.merged.parent.mkdir(mode=0o700)
    kargo.merged.mkdir(mode=0o700)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k,mode=0700", "kt-small",
                    str(kargo.merged)], check=True)
    kargo.grow = lambda: subprocess.run(["mount", "-o", "remount,size=8m", str(kargo.merged)],
                                        check=True)
    yield kargo
    subprocess.run(["umount", "-l", str(kargo.merged)], check=True)


def test_disk_full_while_configuring(small_disk):
    k = small_disk
    k.run("configure")
    before = k.snapshot()
    write(k.workspace / "configs/front/plain.conf", "changed, and small\n")
    big = k.workspace / "configs/front/big.dat"
    big.parent.mkdir(parents=True, exist_ok=True)
    big.write_bytes(os.urandom(700 * 1024))
    proc = k.run("configure", check=False)
    assert proc.returncode != 0
    line, = errors(proc.stderr)
    assert line == (f"kargo: _configure:configs/front/big.dat: {k.merged}/configs/front/big.dat: "
                    "cannot write: No space left on device"), line
    after = k.snapshot()
    # every merged file old or new, and whole; no temp file left behind
    assert "configs/front/big.dat" not in after
    assert after["configs/front/plain.conf"][0] in (before["configs/front/plain.conf"][0],
                                                    b"changed, and small\n")
    assert {rel for rel in after} == {rel for rel in before}
    assert not list(k.merged.rglob("*.tmp"))
    k.grow()
    k.run("configure")
    assert (k.merged / "configs/front/big.dat").read_bytes() == big.read_bytes()
    assert (k.merged / "configs/front/plain.conf").read_bytes() == b"changed, and small\n"
    assert k.run("configure").stdout == ""


@pytest.fixture
def small_state(kargo):
    """`.kargo/.state/` (the doit database) alone on a tmpfs of 256 KiB, filled by `fill()`."""
    state = kargo.merged / ".state"
    state.mkdir(mode=0o700, parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "kt-state",
                    str(state)], check=True)
    filler = state / "filler"

    def fill():
        with open(filler, "wb", buffering=0) as f:
            try:
                while True:
                    f.write(b"\0" * 4096)
            except OSError:  # ENOSPC: full
                pass
    kargo.fill, kargo.unfill = fill, filler.unlink
    yield kargo
    subprocess.run(["umount", "-l", str(state)], check=True)


def test_disk_full_when_the_doit_database_is_saved(small_state):
    k = small_state
    k.run("configure")
    k.fill()
    write(k.workspace / "configs/front/plain.conf", "changed\n")
    proc = k.run("configure")  # the task's work is done: not a failed run
    assert errors(proc.stderr) == [
        "kargo: the doit database could not be saved (database or disk is full): the tasks "
        "of this run are checked again by the next one"], proc.stderr
    assert (k.merged / "configs/front/plain.conf").read_bytes() == b"changed\n"
    before = k.snapshot()
    k.unfill()
    # the unsaved task runs again, finds its output right and leaves it untouched
    proc = k.run("configure")
    assert proc.stdout.splitlines() == [".  _configure:configs/front/plain.conf"]
    assert proc.stderr == "" and k.snapshot() == before
    assert k.run("configure").stdout == ""


# --- configs and secrets removed behind kargo's back --------------------------------------

def test_config_removed_out_of_band_is_made_again(stackenv):
    env = stackenv
    env.run("deploy")
    web = env.service(env.a, "web")
    config, = env.configs(env.a)
    # the engine refuses to remove a config a service uses
    refused = subprocess.run(["docker", "config", "rm", config], capture_output=True, text=True)
    assert refused.returncode != 0 and "in use" in refused.stderr, refused.stderr
    subprocess.run(["docker", "service", "rm", web], check=True, capture_output=True)
    subprocess.run(["docker", "config", "rm", config], check=True, capture_output=True)
    proc = env.run("deploy")
    assert f"deploy {env.a}: web (new)" in proc.stdout, proc.stdout
    assert env.configs(env.a) == [config]  # same content, same name
    assert len(env.running(web)) == 1
    assert env.run("deploy").stdout == ""
