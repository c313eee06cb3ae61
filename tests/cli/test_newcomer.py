"""What a newcomer meets: an environment that cannot be read is said, on one
line, by every command that needs it (`doit list` still lists the rest); and
`doit` in a checkout runs that checkout's code, whatever kargo is installed."""
import os
import shutil
import subprocess
import sys

from support import REPO, venv_with_our_dependencies, write

DUPLICATE = 'STACKS="web"\nWEB_STACK="front"\n\nSTACKS="web other"\n'


def one_line(proc, task):
    assert proc.returncode != 0, proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"kargo: {task}: ") and "STACKS is already set on line 1" in lines[0]
    return lines[0]


def test_every_command_that_needs_the_environment_says_why_it_cannot_be_read(kargo):
    write(kargo.workspace / ".env", DUPLICATE)
    listed = kargo.run("list", check=False)
    one_line(listed, "list")
    names = [line.split()[0] for line in listed.stdout.splitlines() if line.strip()]
    assert {"use", "show", "configure"} <= set(names)  # what needs no environment
    assert not [n for n in names if n.startswith(("deploy", "remove", "build"))]
    for task in ("deploy:web", "deploy", "remove:web", "build:front", "update:web"):
        one_line(kargo.run(task, check=False), task)
    one_line(kargo.run("plan", check=False), "plan")
    one_line(kargo.run("graph", check=False), "graph")


def test_rollback_of_a_recorded_stack_needs_no_environment(kargo):
    # a rollback reads what kargo recorded, not the workspace: its task
    # exists for each stack kargo keeps versions of (the engine test
    # test_rollback.py rolls one back); `rollback` alone stays refused
    write(kargo.workspace / ".env", DUPLICATE)
    one_line(kargo.run("rollback", check=False), "rollback:all")
    write(kargo.merged / ".state/history/web.json", '{"current": {"stack": "", "images": {}}}')
    listed = kargo.run("list", check=False)
    one_line(listed, "list")
    assert "rollback:web" in listed.stdout.split()
    one_line(kargo.run("rollback", check=False), "rollback:all")
    for stack in ("web", "never-deployed"):
        proc = kargo.run(f"rollback:{stack}", check=False)
        assert proc.returncode != 0
        assert proc.stderr == (f"kargo: rollback:{stack}: stack {stack} has no earlier version to "
                               "roll back to: kargo keeps one once a second, different deploy of "
                               "it converged\n"), proc.stderr


def test_doit_in_a_checkout_runs_that_checkouts_code(tmp_path):
    """Two checkouts; the first installed (editable) in a virtual environment;
    `doit` on the second's dodo.py runs the second's code."""
    checkouts = []
    for name in ("first", "second"):
        folder = tmp_path / name
        for part in ("kargo_tasks", "defaults", "images"):
            shutil.copytree(REPO / part, folder / part,
                            ignore=shutil.ignore_patterns("__pycache__"))
        for part in ("dodo.py", "kargo_commands.py", "pyproject.toml", "setup.py", "MANIFEST.in",
                     "README.md"):
            shutil.copy2(REPO / part, folder / part)
        checkouts.append(folder)
    venv = tmp_path / "venv"
    venv_with_our_dependencies(venv)
    subprocess.run([str(venv / "bin/python"), "-m", "pip", "install", "--quiet", "--no-deps",
                    "-e", str(checkouts[0])], check=True,
                   capture_output=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KARGO_", "PYTHON"))}
    for folder, other in (checkouts[::-1], checkouts):  # the second first: the first untouched
        doit = [str(venv / "bin/python"), "-m", "doit", "-f", str(folder / "dodo.py")]
        shown = subprocess.run([*doit, "show"], capture_output=True, text=True, env=env,
                               cwd=tmp_path)
        assert f"in {folder / 'kargo_tasks'}\n" in shown.stdout, shown.stdout + shown.stderr
        assert f"kargo root: {folder} (chosen by the checkout of this code)" in shown.stdout
        # its plugin commands too (doit loads them before the dodo file)
        plan = subprocess.run([*doit, "plan", "configure"], capture_output=True, text=True,
                              env=env, cwd=tmp_path)
        assert plan.returncode in (0, 4), plan.stderr
        assert (folder / ".kargo").is_dir()
        if other is checkouts[0] and folder is checkouts[1]:
            assert not (other / ".kargo").exists(), "the installed checkout was written"


def test_doit_in_the_checkout_has_its_plugins_when_the_installed_metadata_is_older(kargo,
                                                                                   tmp_path):
    """A checkout pulled since it was installed: the installed metadata (here a
    stale kargo dist-info first on the path, as importlib.metadata reads it)
    lacks a command and the database backend; `doit` run in the checkout
    still has them, from its pyproject.toml."""
    stale = tmp_path / "stale" / "kargo-0.0.1.dist-info"
    write(stale / "METADATA", "Metadata-Version: 2.1\nName: kargo\nVersion: 0.0.1\n")
    write(stale / "entry_points.txt", '[doit.COMMAND]\nplan = kargo_commands:Plan\n')
    env = dict(kargo.env, PYTHONPATH=str(stale.parent))
    # -P: the checkout's own folder is not on the path, as for the `doit` script
    probe = subprocess.run([sys.executable, "-P", "-c", "import importlib.metadata as m; "
                            "print(sorted(e.name for e in m.entry_points(group='doit.BACKEND')))"],
                           capture_output=True, text=True, env=env, cwd=REPO, check=True)
    assert probe.stdout == "[]\n"  # the stale metadata is what Python sees
    for args in (["configure"], ["help", "sync"], ["help", "plan"]):
        proc = subprocess.run([sys.executable, "-P", "-m", "doit", *args], capture_output=True,
                              text=True, env=env, cwd=REPO)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert args[0] == "configure" or "PURPOSE" in proc.stdout, proc.stdout
    assert (kargo.merged / ".state/doit.db").exists()


def test_kargo_runs_from_a_folder_of_another_project(kargo, tmp_path):
    """`kargo` from a folder whose pyproject.toml is another project's (one
    doit cannot read, or naming a doit plugin that is not installed): kargo's
    own commands and tasks, as anywhere else."""
    for text in ("not = toml = [\n", '[tool.doit.plugins.command]\nzap = "nowhere:Zap"\n'):
        write(tmp_path / "pyproject.toml", text)
        listed = kargo.kargo("list", cwd=tmp_path)
        assert "configure" in listed.stdout and listed.stderr == "", listed.stderr
        plan = kargo.kargo("plan", "configure", check=False, cwd=tmp_path)
        assert plan.returncode in (0, 4) and "Traceback" not in plan.stderr, plan.stderr
