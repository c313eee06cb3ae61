"""Faults: a clear error, a correct state after, and a next run that does the
right thing (and only that).

Covered elsewhere, not repeated here: a registry that stops before the push
(test_images.py::test_push_to_stopped_registry_fails_with_one_line), a build
that fails half way (test_images.py::test_failing_build_keeps_previous_image_and_tag),
a service whose command exits (test_stacks.py::test_service_that_exits_fails_the_deploy_fast_and_stays_stale),
a second run while one holds the lock, refused at once
(test_commands.py::test_a_second_run_refuses_while_one_holds_the_lock).

Runs that get interrupted are started in a process group of their own, as a
shell starts a foreground job: SIGINT goes to the group like a Ctrl-C does,
`kill -9` to the group too.
"""
import os
import signal
import socket
import sqlite3
import tempfile
import time

import pytest

from image_fixtures import images  # noqa: F401
from stack_fixtures import sent, stackenv, stuck_stack  # noqa: F401
from support import write

pytestmark = pytest.mark.slow

INTERRUPTED = ("kargo: interrupted: the tasks that finished are recorded, "
               "the next run redoes the rest")
NOT_ANSWERING = "the Docker engine is not answering on"


def ran(text):
    return [line[3:] for line in text.splitlines() if line.startswith(".  ")]


def errors(text):
    return [line for line in text.splitlines() if line.strip()]


def db_ok(kargo):
    conn = sqlite3.connect(f"file:{kargo.merged / '.state/doit.db'}?mode=ro", uri=True)
    try:
        assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
        return dict(conn.execute("select task_id, task_data from doit").fetchall())
    finally:
        conn.close()


def leftovers(kargo):
    """Temp files of an interrupted write, anywhere in .kargo/."""
    return sorted(p.relative_to(kargo.merged).as_posix() for p in kargo.merged.rglob("*.tmp"))


# --- the engine is not there ----------------------------------------------------------

@pytest.fixture(params=["socket missing", "nobody listening"])
def dead_engine(request):
    if request.param == "socket missing":
        yield "unix:///nonexistent.sock"
        return
    folder = tempfile.mkdtemp(prefix="kt-dead-", dir="/tmp")
    path = os.path.join(folder, "docker.sock")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(path)
    sock.close()  # the socket file stays, nobody accepts: a daemon that died
    yield f"unix://{path}"
    os.unlink(path)
    os.rmdir(folder)


def test_engine_not_there_fails_the_first_engine_task_on_one_line(stackenv, dead_engine):
    env = stackenv
    dead = {"DOCKER_HOST": dead_engine}
    # what needs no engine still works
    assert f"deploy:{env.a}" in env.run("list", env=dead).stdout
    env.run("configure", "_stack", env=dead)
    assert (env.kargo.merged / f"stacks/{env.a}.yml").is_file()
    before = env.kargo.snapshot(), db_ok(env.kargo)
    for args, task in ((["deploy"], "deploy"), ([f"remove:{env.b}"], f"remove:{env.b}"),
                       ([f"update:{env.a}"], f"update:{env.a}")):
        proc = env.run(*args, check=False, env=dead)
        assert proc.returncode != 0
        assert "Traceback" not in proc.stdout + proc.stderr
        assert errors(proc.stderr) == [
            f"kargo: {task}: {NOT_ANSWERING} {dead_engine} (chosen by DOCKER_HOST) "
            "(start dockerd, e.g. bash scripts/engine-up, or choose another engine with "
            "DOCKER_HOST or DOCKER_CONTEXT)"], proc.stderr
    # nothing recorded, nothing written
    assert (env.kargo.snapshot(), db_ok(env.kargo)) == before
    assert env.services() == {}
    # the engine is back: the next run deploys, the one after does nothing
    proc = env.run("deploy")
    assert ran(proc.stdout)[-1] == "deploy" and sent(proc) == [env.a, env.b]
    assert len(env.services()) == 3
    assert env.run("deploy").stdout == ""


# --- Ctrl-C -----------------------------------------------------------------------------

def test_sigint_during_configure_leaves_whole_files_and_the_next_run_writes_the_rest(
        kargo, background):
    many = kargo.workspace / "configs/many"
    many.mkdir(parents=True)
    expected = {}
    for i in range(2000):
        (many / f"f{i:04d}.txt.tpl").write_text(f"file {i} for ${{WHO:-nobody}}\n")
        expected[f"configs/many/f{i:04d}.txt"] = f"file {i} for nobody\n".encode()
    out = kargo.merged / "configs/many"

    def written():
        return len(os.listdir(out)) if out.is_dir() else 0

    run = background(kargo, "configure")
    run.wait_for(lambda: written() >= 300, what="300 files written")
    run.signal(signal.SIGINT)
    assert run.finish() == -signal.SIGINT  # ended by the signal, as Ctrl-C expects
    assert errors(run.stderr) == [INTERRUPTED]

    assert leftovers(kargo) == []
    present = {}
    for rel, data in expected.items():
        path = kargo.merged / rel
        if path.exists():
            assert path.read_bytes() == data, f"{rel} is not whole"
            assert path.stat().st_mode & 0o777 == 0o600
            present[rel] = path.stat().st_mtime_ns
    assert 300 <= len(present) < 2000, "the run was not interrupted half way"
    db_ok(kargo)
    # the tasks that finished are recorded: the next run does the rest only
    proc = kargo.run("configure")
    again = {task.split(":", 1)[1] for task in ran(proc.stdout)}
    missing = set(expected) - set(present)
    assert missing <= again
    # at most the one file written when the signal came, before doit recorded it
    assert len(again - missing - {"deploy/front.yml", "configs/front/greeting.txt",
                                  "configs/front/page.html", "configs/front/plain.conf"}) <= 1
    for rel, mtime in present.items():
        assert (kargo.merged / rel).stat().st_mtime_ns == mtime, f"{rel} written twice"
    for rel, data in expected.items():
        assert (kargo.merged / rel).read_bytes() == data
    assert kargo.run("configure").stdout == ""


SLOW_DOCKERFILE = """\
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN echo slow-step-{token} && sleep 8
COPY marker.txt /marker.txt
CMD ["sleep", "3600"]
"""


def test_sigint_during_build_tags_nothing_and_the_next_run_builds(images, background):
    images.write_root()
    token = images.unique
    write(images.kargo.workspace / "images" / images.a / "Dockerfile",
          SLOW_DOCKERFILE.format(token=token))
    ref = images.ref(images.a)
    run = background(images.kargo, f"build:{images.a}")
    run.wait_for(lambda: f"RUN echo slow-step-{token}" in run.stdout, timeout=120,
                 what="the slow step")
    time.sleep(1)
    run.signal(signal.SIGINT)
    assert run.finish() == -signal.SIGINT
    assert errors(run.stderr) == [INTERRUPTED]
    # nothing tagged, nothing pushed, and the engine dropped the step's container
    assert images.image_id(ref) is None
    assert images.registry.tags(images.path(images.a)) == []
    label = {"label": f"org.kargo.image={images.a}"}
    deadline = time.monotonic() + 30
    while images.client.api.containers(all=True, filters=label):
        assert time.monotonic() < deadline, "the interrupted build left its container"
        time.sleep(0.5)
    db_ok(images.kargo)
    # not recorded as built: the next run builds (and pushes) it, then nothing
    proc = images.run(f"build:{images.a}")
    assert ran(proc.stdout) == [f"build:{images.a}"]
    assert images.image_id(ref) and images.registry.tags(images.path(images.a)) == ["1"]
    assert images.run(f"build:{images.a}").stdout == ""


def cluster_record(env, stack):
    return env.kargo.merged / f".state/clusters/{stack}.json"


def test_sigint_in_deploy_wait_then_timeout_then_fixed(stackenv, background):
    env = stackenv
    c, base = stuck_stack(env)
    stuck = env.service(c, "stuck")
    run = background(env.kargo, f"deploy:{c}", env={"KARGO_DEPLOY_TIMEOUT": "300"})
    run.wait_for(lambda: f"  {stuck}  0/1 running" in run.stdout, what="the wait")
    run.signal(signal.SIGINT)
    assert run.finish() == -signal.SIGINT
    assert errors(run.stderr) == [INTERRUPTED]
    # the stack is on the cluster, not converged, and not recorded as deployed
    assert set(env.services(c)) == {stuck} and env.running(stuck) == []
    assert not cluster_record(env, c).exists()
    assert leftovers(env.kargo) == []
    assert f"deploy:{c}" not in db_ok(env.kargo)

    # the next run deploys again, and a service that never converges ends
    # the wait at the timeout, naming it
    start = time.monotonic()
    proc = env.run(f"deploy:{c}", check=False, env={"KARGO_DEPLOY_TIMEOUT": "5"})
    elapsed = time.monotonic() - start
    assert proc.returncode != 0
    assert f"deploy:{c}" in ran(proc.stdout)
    line, = errors(proc.stderr)
    assert line.startswith(
        f"kargo: deploy:{c}: service {stuck} did not converge in 5s: 0/1 running"), line
    assert 5 <= elapsed < 40
    assert not cluster_record(env, c).exists()

    # fixed: deployed, converged, recorded; then nothing to do
    env.set_env(base)
    proc = env.run(f"deploy:{c}")
    assert ran(proc.stdout) == [f"_stack:{c}", f"deploy:{c}"]
    assert len(env.running(stuck)) == 1
    assert cluster_record(env, c).exists()
    assert env.run(f"deploy:{c}").stdout == ""


def test_kill_9_during_deploy_then_the_next_run_deploys(stackenv, background):
    env = stackenv
    c, base = stuck_stack(env)
    stuck = env.service(c, "stuck")
    run = background(env.kargo, f"deploy:{c}", env={"KARGO_DEPLOY_TIMEOUT": "300"})
    run.wait_for(lambda: f"  {stuck}  0/1 running" in run.stdout, what="the wait")
    run.signal(signal.SIGKILL)
    assert run.finish() == -signal.SIGKILL
    assert not cluster_record(env, c).exists()
    assert leftovers(env.kargo) == []
    db_ok(env.kargo)
    snapshot = env.kargo.snapshot()

    # the lock died with the run; the same input deploys again (and still
    # does not converge)
    proc = env.run(f"deploy:{c}", check=False, env={"KARGO_DEPLOY_TIMEOUT": "3"})
    assert "holds the lock" not in proc.stderr
    assert ran(proc.stdout) == [f"deploy:{c}"], proc.stdout
    assert "did not converge in 3s" in proc.stderr
    assert env.kargo.snapshot() == snapshot  # configure and _stack stay done

    env.set_env(base)
    proc = env.run(f"deploy:{c}")
    assert f"deploy:{c}" in ran(proc.stdout)
    assert len(env.running(stuck)) == 1
    assert env.run(f"deploy:{c}").stdout == ""


# --- two runs at once -------------------------------------------------------------------

def test_two_runs_at_once_one_refuses_one_waits(stackenv, background):
    env = stackenv
    first = background(env.kargo, "deploy")
    first.wait_for(lambda: f"deploy {env.a}: " in first.stdout, timeout=120,
                   what="the first deploy")
    # refused at once, naming the holder
    proc = env.run("deploy", check=False)
    assert proc.returncode != 0
    line, = errors(proc.stderr)
    assert f"another kargo run holds the lock (pid {first.proc.pid}, since " in line
    assert "deploy" in line
    assert f"deploy:{env.a}" in env.run("list").stdout  # read-only commands go on
    # a run that may wait waits, then finds the work done
    waiter = background(env.kargo, "deploy", env={"KARGO_LOCK_WAIT": "300"})
    time.sleep(1)
    assert waiter.proc.poll() is None or first.proc.poll() is not None
    assert first.finish(180) == 0, first.stderr
    assert waiter.finish(180) == 0, waiter.stderr
    assert waiter.stdout == "" and waiter.stderr == ""
    rows = db_ok(env.kargo)
    assert "deploy" in rows
    assert leftovers(env.kargo) == []
    assert env.run("deploy").stdout == ""


# --- bad input that needs the engine to show ---------------------------------------------

@pytest.mark.parametrize("name, value", [
    ("KARGO_DEPLOY_TIMEOUT", "abc"), ("KARGO_DEPLOY_TIMEOUT", "nan"),
    ("KARGO_DEPLOY_TIMEOUT", "-5"), ("KARGO_DEPLOY_TIMEOUT", "0"),
    ("KARGO_STABLE_SECONDS", "abc")])
def test_a_wait_that_is_not_a_duration_deploys_nothing(stackenv, name, value):
    env = stackenv
    env.kargo.env.pop("KARGO_STABLE_SECONDS")  # the workspace's, not the suite's
    env.set_env(f"{name}={value}\n")
    proc = env.run("deploy", check=False)
    assert proc.returncode != 0
    assert errors(proc.stderr) == [
        f"kargo: deploy: {env.kargo.workspace / '.env'}:1: "
        f"{name} must be a number of seconds"], proc.stderr
    # refused before the engine was asked to create anything
    assert env.services() == {}
    assert not env.client.api.networks(filters={"name": env.back})


@pytest.mark.swarm
def test_labels_of_a_node_not_in_the_cluster_warn_and_deploy_goes_on(stackenv):
    env = stackenv
    var = f"KT_GHOST_{env.name[3:].upper()}_LABELS"
    key = f"kt_role_{env.name[3:]}"
    env.set_env(f'{var}="{key}=db"\n')
    warning = f"warning: {var} matches no node of the cluster"
    proc = env.run("deploy")
    assert errors(proc.stderr) == [warning]
    assert len(env.services()) == 3
    # said again on every run until fixed, and nothing else happens
    proc = env.run("deploy")
    assert (ran(proc.stdout), errors(proc.stderr), sent(proc)) == (["deploy"], [warning], [])
    for node in env.client.nodes.list():
        assert key not in (node.attrs["Spec"].get("Labels") or {})
