"""The entry points: `doit list`, `kargo`, `use`, `show`."""
import sys

from support import write


def test_kargo_list_is_doit_list_from_any_directory(kargo, tmp_path):
    by_doit = kargo.run("list").stdout
    by_kargo = kargo.kargo("list", cwd=tmp_path).stdout
    assert by_doit == by_kargo
    lines = by_doit.splitlines()
    assert any(line.startswith("deploy:web ") and "front" in line for line in lines)
    for name in ("configure", "show", "use", "deploy", "build", "remove", "update", "redeploy"):
        assert any(line.split()[0] == name for line in lines), name
    assert not any(line.startswith("_") for line in lines)  # per-file tasks stay hidden


def test_kargo_version(kargo):
    from kargo_tasks import __version__
    assert kargo.kargo("--version").stdout.strip() == f"kargo {__version__}"


def test_use_records_the_workspace_and_the_variable_overrides_it(kargo, tmp_path):
    env = {k: v for k, v in kargo.env.items() if k != "KARGO_WORKSPACE"}
    kargo.env = env
    kargo.run("use", "--workspace", str(kargo.workspace))
    assert (kargo.root / ".workspace").read_text().strip() == str(kargo.workspace)
    assert f"now: {kargo.workspace}" in kargo.run("list").stdout
    other = tmp_path / "other"
    write(other / ".env", "WHO=other\n")
    shown = kargo.run("show", env={"KARGO_WORKSPACE": str(other)}).stdout
    assert f"workspace: {other}" in shown


def test_use_refuses_a_missing_folder(kargo, tmp_path):
    proc = kargo.kargo("use", "--workspace", str(tmp_path / "missing"), check=False)
    assert proc.returncode != 0
    assert f"workspace {tmp_path / 'missing'} does not exist" in proc.stderr
    assert not (kargo.root / ".workspace").exists()


def test_show_lists_names_not_values(kargo):
    canary = "s3cr3t-canary-value"
    write(kargo.workspace / ".env", f"FRONT_PASSWORD={canary}\n")
    write(kargo.workspace / "deploy/front_after.sh", "#!/bin/sh\n", mode=0o755)
    out = kargo.run("show").stdout
    assert "web: front" in out
    assert "deploy/front_after.sh" in out
    assert canary not in out


def test_list_does_not_touch_the_engine(kargo):
    proc = kargo.run("list", env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert "deploy:web" in proc.stdout


def test_list_does_not_import_heavy_modules(kargo):
    code = ("import sys; from doit.doit_cmd import DoitMain; from doit.cmd_base import "
            "DodoTaskLoader; sys.argv=['doit','list']; import runpy;"
            "rc = DoitMain(DodoTaskLoader()).run(['-f', %r, 'list']);"
            "print(sorted(m for m in ('docker','jinja2','yaml','requests') if m in sys.modules))")
    from support import REPO
    proc = kargo._run([sys.executable, "-c", code % str(REPO / "dodo.py")], True, None, None)
    assert proc.stdout.strip().splitlines()[-1] == "[]"


def test_a_second_run_refuses_while_one_holds_the_lock(kargo):
    import subprocess
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; sys.argv = ['doit', 'deploy'];"
         "from kargo_tasks.operations.project import current; current(); print('held', flush=True);"
         "time.sleep(30)"], env=kargo.env, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        proc = kargo.run("configure", check=False)
        assert proc.returncode != 0
        assert f"another kargo run holds the lock (pid {holder.pid}, since " in proc.stderr
        assert "deploy" in proc.stderr
        assert "now:" in kargo.run("list").stdout  # read-only commands do not wait
    finally:
        holder.kill()
        holder.wait()
    kargo.run("configure")  # the kernel released the lock with the process


def test_plan_names_files_and_variables_and_changes_nothing(kargo):
    first = kargo.run("plan", "configure", check=False)
    assert first.returncode == 4 and "configure:deploy/front.yml" in first.stdout
    assert not (kargo.merged / "deploy").exists()  # asking wrote nothing
    kargo.run("configure")
    settled = kargo.run("plan", "configure", check=False)
    assert (settled.returncode, settled.stdout) == (0, "nothing to do\n")
    canary = "s3cr3t-canary-who"
    write(kargo.workspace / ".env", f"WHO={canary}\n")
    before = kargo.snapshot()
    proc = kargo.run("plan", "configure", check=False)
    assert proc.returncode == 4
    # the template reads GREETING, whose value is made from WHO
    assert "configure:configs/front/greeting.txt\n    variable GREETING changed" in proc.stdout
    assert "configure:configs/front/plain.conf" not in proc.stdout
    assert canary not in proc.stdout + proc.stderr
    assert kargo.snapshot() == before
    assert kargo.kargo("plan", "configure", check=False).stdout == proc.stdout


def test_logs_and_status_take_no_run_lock_and_say_a_missing_engine_on_one_line(kargo):
    import subprocess
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; sys.argv = ['doit', 'deploy'];"
         "from kargo_tasks.operations.project import current; current(); print('held', flush=True);"
         "time.sleep(30)"], env=kargo.env, stdout=subprocess.PIPE, text=True)
    dead = {"DOCKER_HOST": "unix:///nonexistent.sock"}
    try:
        assert holder.stdout.readline().strip() == "held"
        # not refused by the lock a deploy holds: they reach the engine, which is not there
        for args, name in ((["logs:web", "--follow", "--since", "10m"], "logs:web"),
                           (["logs:web:front"], "logs:web:front"), (["status"], "status")):
            proc = kargo.run(*args, check=False, env=dead)
            assert proc.returncode == 1, proc.stdout + proc.stderr
            assert proc.stderr.splitlines() == [
                f"kargo: {name}: the Docker engine is not answering on "
                "unix:///nonexistent.sock (chosen by DOCKER_HOST) (start dockerd, e.g. bash "
                "scripts/engine-up, or choose another engine with DOCKER_HOST or "
                "DOCKER_CONTEXT)"], proc.stderr
        assert "another kargo run holds the lock" in kargo.run("configure", check=False).stderr
    finally:
        holder.kill()
        holder.wait()
    assert not (kargo.merged / "deploy").exists()  # neither configured anything
