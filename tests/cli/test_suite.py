"""The test suite itself: what it needs is said before any test runs, on one
line; `scripts/test` (the README's command) says the tests it ran and the
wall time per tier, and fails when a tier ran no test; a run a test starts
gets SIGINT as a terminal's foreground job has it, also when the suite runs
in the background."""
import os
import subprocess
import sys

from support import REPO, terminal_signals, write

OLD_DOCKER = """#!/bin/sh
# Debian 12's docker.io 20.10 as far as the suite asks: no `context show`,
# and `stack config --help` is `docker stack`'s own usage
case "$1 $2" in
    "--version ") echo "Docker version 20.10.24+dfsg1, build 297e128" ;;
    "context show") echo 'docker: "context show" is not a docker command.' >&2; exit 1 ;;
    "stack config") echo "Usage:  docker stack [OPTIONS] COMMAND" ;;
    *) exit 1 ;;
esac
"""


def suite_env(**changes):
    """The environment of a pytest or scripts/test started by a test: none of
    the outer run's options or xdist worker variables."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTEST_", "KARGO_TEST_"))}
    env.update(changes)
    return env


def pytest(*args, env):
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
                          capture_output=True, text=True, cwd=REPO, env=env, timeout=300)


def error_lines(proc):
    return [line for line in (proc.stdout + proc.stderr).splitlines() if "ERROR" in line]


def test_an_old_docker_cli_is_one_line_naming_what_it_lacks_and_how_to_get_it(tmp_path):
    bin_dir = tmp_path / "bin"
    write(bin_dir / "docker", OLD_DOCKER, mode=0o755)
    env = suite_env(PATH=f"{bin_dir}:{os.environ['PATH']}")
    proc = pytest("tests/cli/test_endpoint.py", "tests/compose", env=env)
    assert proc.returncode == 4, proc.stdout + proc.stderr
    [line] = error_lines(proc)
    assert line.startswith(f"ERROR: missing prerequisite: the docker CLI first on PATH "
                           f"({bin_dir / 'docker'}: Docker version 20.10.24+dfsg1, build "
                           "297e128) lacks `docker context show` and `docker stack config`; ")
    assert "docker-ce-cli" in line
    assert "passed" not in proc.stdout and "Traceback" not in proc.stdout + proc.stderr
    # the unit tests need no docker CLI
    assert pytest("tests/unit/test_delta.py", env=env).returncode == 0


def test_no_dot_is_one_line_when_engine_tests_are_asked_for(tmp_path):
    bin_dir = tmp_path / "bin"  # a PATH with the docker CLI and nothing else
    bin_dir.mkdir()
    docker = subprocess.run(["sh", "-c", "command -v docker"], capture_output=True,
                            text=True, check=True).stdout.strip()
    (bin_dir / "docker").symlink_to(docker)
    proc = pytest("--collect-only", "tests/engine/test_plan.py", env=suite_env(PATH=str(bin_dir)))
    assert proc.returncode == 4, proc.stdout + proc.stderr
    [line] = error_lines(proc)
    assert "graphviz's `dot` is not on PATH" in line and "apt-get install graphviz" in line


def test_scripts_test_says_the_tests_and_wall_time_of_each_tier(tmp_path):
    # a selection of each tier (the summary is what is under test; the
    # tiers' own tests run in the suite that runs this one)
    env = suite_env(KARGO_TEST_TIERS="unit compose", PYTEST_ADDOPTS="-k 'version or spec'")
    proc = subprocess.run(["bash", str(REPO / "scripts/test")], capture_output=True,
                          text=True, cwd=tmp_path, env=env, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    summary = proc.stdout[proc.stdout.index("scripts/test: tests run per tier"):].splitlines()
    rows = {line.split()[0]: line.split()[1:] for line in summary[2:]}
    assert set(rows) == {"unit", "compose", "all"}, summary
    for tier in ("unit", "compose"):
        tests, passed, failed, skipped, wall = rows[tier][:5]
        assert int(tests) > 10 and tests == passed and failed == skipped == "0", summary
        assert wall.endswith("s")
    assert int(rows["all"][0]) == int(rows["unit"][0]) + int(rows["compose"][0])


def test_scripts_test_keeps_its_reports_where_it_is_asked_to(tmp_path):
    # how the fresh-machine test hands the engine-free tiers it ran in its
    # Debian root to the run that started it (scripts/test, as root)
    reports = tmp_path / "reports"
    env = suite_env(KARGO_TEST_TIERS="unit", KARGO_TEST_REPORTS=str(reports),
                    PYTEST_ADDOPTS="-k spec")
    proc = subprocess.run(["bash", str(REPO / "scripts/test")], capture_output=True,
                          text=True, cwd=tmp_path, env=env, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    [run] = [line.split() for line in (reports / "runs").read_text().splitlines()]
    assert run[:3] == ["unit", "parallel", "0"] and float(run[3]) < float(run[4])
    assert "<testcase" in (reports / "unit.parallel.xml").read_text()


def test_scripts_test_fails_when_a_tier_runs_no_test(tmp_path):
    env = suite_env(KARGO_TEST_TIERS="unit", PYTEST_ADDOPTS="-k no_test_has_this_name")
    proc = subprocess.run(["bash", str(REPO / "scripts/test")], capture_output=True,
                          text=True, cwd=tmp_path, env=env, timeout=600)
    assert proc.returncode != 0, proc.stdout
    assert "scripts/test: unit (parallel) collected no test" in proc.stderr


def test_a_run_a_test_starts_gets_sigint_also_when_the_suite_ignores_it():
    """What the SIGINT tests of tests/engine/test_faults.py rely on: their
    run (engine/conftest.py's Background) takes SIGINT as a terminal's
    foreground job does, where the suite inherited it ignored."""
    shown = "grep SigIgn /proc/self/status"

    def ignored_in_child(preexec_fn):
        import signal
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # as `nohup ... &` gives it
        try:
            line = subprocess.run(["sh", "-c", shown], capture_output=True, text=True,
                                  preexec_fn=preexec_fn, check=True).stdout
        finally:
            signal.signal(signal.SIGINT, previous)
        return bool(int(line.split()[1], 16) & (1 << (signal.SIGINT - 1)))

    assert ignored_in_child(None)  # what the child got before
    assert not ignored_in_child(terminal_signals)


def test_the_tests_of_one_xdist_group_run_on_one_worker(tmp_path):
    """scripts/test runs the engine tests with `--dist loadgroup`: the tests
    of one group (a module's remote engine or 3-node cluster, fixed names)
    must never overlap. pytest 9.2 renamed the node id xdist 3.8 tags with its
    group, and then every group was spread over the workers."""
    seen = tmp_path / "workers"
    for name in ("a", "b"):
        write(tmp_path / f"test_{name}.py",
              "import os, pytest\n"
              "pytestmark = [pytest.mark.xdist_group('shared')]\n"
              + "".join(f"def test_{name}{i}():\n"
                        f"    with open({str(seen)!r}, 'a') as f:\n"
                        f"        f.write(os.environ['PYTEST_XDIST_WORKER'] + '\\n')\n"
                        for i in range(3)))
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "3",
                           "--dist", "loadgroup", "-q", "-c", os.devnull,
                           "--rootdir", str(tmp_path), str(tmp_path)],
                          capture_output=True, text=True, cwd=tmp_path, env=suite_env(),
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    workers = seen.read_text().split()
    assert len(workers) == 6 and len(set(workers)) == 1, workers
