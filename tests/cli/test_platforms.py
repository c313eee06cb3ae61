"""Several platforms from one checkout (no engine): each workspace keeps its
own merged configuration, doit database and run lock in `.kargo/<key>/`;
`use` switches between them and a switch back finds everything up to date;
the single `.kargo/` of the kargo before moves into the workspace in use;
`KARGO_PREFIX` is checked; `pull` moves a repository holding several
workspaces whole."""
import fcntl
import os
import subprocess
import sys

import pytest

from support import Git, merged_of, write
from untouched import one_error_line, probe  # noqa: F401


@pytest.fixture
def two(kargo, tmp_path, probe):
    """One kargo root, two workspaces (staging, production) differing in one
    variable; chosen with `use`, not KARGO_WORKSPACE. No engine is asked."""
    kargo.env.pop("KARGO_WORKSPACE")
    kargo.env["DOCKER_HOST"] = probe.url
    workspaces = {}
    for which in ("staging", "production"):
        ws = tmp_path / which
        write(ws / ".env", f"WHO={which}\nKARGO_PREFIX={which}\n")
        workspaces[which] = ws
    yield kargo, workspaces
    assert probe.connections == 0, "the engine was asked"


def tree(folder):
    """{relative path: (bytes, mtime_ns)} of every file under `folder`."""
    return {p.relative_to(folder).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != "run.lock"}


def test_each_workspace_keeps_its_own_merged_configuration_and_state(two):
    kargo, ws = two
    out = kargo.run("use", "--workspace", str(ws["staging"])).stdout
    staging = merged_of(kargo.root, ws["staging"])
    assert f"merged configuration and state: {staging}" in out
    kargo.run("configure")
    assert (staging / "configs/front/greeting.txt").read_text() == "hello staging\n"
    assert (staging / ".state/doit.db").is_file()

    # `use` runs in the state of the workspace it switches from (it is that
    # one's run): what follows is production's
    kargo.run("use", "--workspace", str(ws["production"]))
    before = tree(staging)
    production = merged_of(kargo.root, ws["production"])
    assert kargo.run("configure").stdout != ""
    assert (production / "configs/front/greeting.txt").read_text() == "hello production\n"
    assert (production / ".state/doit.db").is_file()
    assert tree(staging) == before  # production's run left staging's folder as it was
    assert "stacks deploy as: production-<stack> (KARGO_PREFIX)" in kargo.run("show").stdout

    # back and forth with nothing changed: nothing to do for either
    kargo.run("_stack")
    kargo.run("use", "--workspace", str(ws["staging"]))
    kargo.run("_stack")
    for which in ("production", "staging", "production", "staging"):
        kargo.run("use", "--workspace", str(ws[which]))
        assert kargo.run("configure", "_stack").stdout == "", which
        proc = kargo.run("plan", "configure", "_stack", check=False)
        assert (proc.returncode, proc.stdout) == (0, "nothing to do\n"), which
    assert sorted(p.name for p in (kargo.root / ".kargo").iterdir()) == sorted(
        p.name for p in (staging, production, merged_of(kargo.root, None)) if p.exists())


def test_each_workspace_has_its_own_run_lock(two):
    kargo, ws = two
    for which in ("staging", "production"):
        kargo.run("configure", env={"KARGO_WORKSPACE": str(ws[which])})
    lock = merged_of(kargo.root, ws["staging"]) / ".state/run.lock"
    with open(lock, "r+") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a staging run is under way
        proc = kargo.run("configure", check=False, env={"KARGO_WORKSPACE": str(ws["staging"])})
        assert proc.returncode != 0 and "another kargo run holds the lock" in proc.stderr
        write(ws["production"] / ".env", "WHO=prod\nKARGO_PREFIX=production\n")
        out = kargo.run("configure", env={"KARGO_WORKSPACE": str(ws["production"])}).stdout
        assert "greeting.txt" in out  # production works meanwhile


def test_the_single_kargo_folder_of_an_existing_checkout_moves_to_the_workspace_in_use(two):
    kargo, ws = two
    kargo.run("use", "--workspace", str(ws["staging"]))
    kargo.run("configure", "_stack")
    staging = merged_of(kargo.root, ws["staging"])
    # the layout of the kargo before: that folder's entries right in .kargo/
    top = kargo.root / ".kargo"
    for entry in list(staging.iterdir()):
        os.rename(entry, top / entry.name)
    staging.rmdir()
    write(top / ".state/clusters/web.json", '{"cluster": {}}')  # a deploy's record
    old = tree(top)

    proc = kargo.run("configure", "_stack")
    # nothing of the records is lost: the doit database and the records moved
    assert (staging / ".state/clusters/web.json").read_text() == '{"cluster": {}}'
    moved = {rel: body for rel, (body, _mtime) in tree(staging).items()}
    kept = {rel: body for rel, (body, _mtime) in old.items()
            if not rel.startswith((".state/doit.db", "no-workspace/"))}
    assert [rel for rel in kept if moved.get(rel) != kept[rel]] == []
    assert not (top / ".state").exists() and not (top / "configs").exists()
    assert proc.stdout == ""  # not even one rebuild: the files it made are where it finds them
    assert kargo.run("plan", "configure", "_stack", check=False).returncode == 0


def test_a_prefix_docker_refuses_is_one_line_naming_its_line(two):
    kargo, ws = two
    write(ws["staging"] / ".env", "WHO=staging\nKARGO_PREFIX=Staging_EU\n")
    proc = kargo.run("configure", check=False, env={"KARGO_WORKSPACE": str(ws["staging"])})
    assert proc.returncode != 0
    line = one_error_line(proc)
    assert line.startswith("kargo: ") and line.endswith(
        f": {ws['staging'] / '.env'}:2: KARGO_PREFIX must be 1 to 32 "
        "lower-case letters, digits or `-` (not first or last), not 'Staging_EU'")


def test_pull_moves_a_repository_of_several_workspaces_whole(kargo, tmp_path, probe):
    """The workspace in use is a folder of the repository (staging/ beside
    production/): the pull fast-forwards the repository, and names its files
    from its top."""
    kargo.env["DOCKER_HOST"] = probe.url
    git = Git(tmp_path / "home")
    kargo.env["HOME"] = git.env["HOME"]
    repo, other = git.upstream(tmp_path, "# shared\n")
    for clone in (repo, other):
        git(clone, "pull", "-q")
    git.push(other, "staging/.env", "WHO=staging\n", "staging")
    git.push(other, "production/.env", "WHO=production\n", "production")
    git(repo, "pull", "-q")
    kargo.env["KARGO_WORKSPACE"] = str(repo / "staging")
    assert kargo.run("pull").stdout.endswith("the workspace is up to date with its upstream\n")
    git.push(other, "production/.env", "WHO=prod\n", "production moves")
    git.push(other, "staging/.env", "WHO=stg\n", "staging moves")
    out = kargo.run("pull").stdout
    assert "pulled 2 commits from origin/main:\n" in out
    assert "files:\n  M\tproduction/.env\n  M\tstaging/.env\n" in out
    assert (repo / "production/.env").read_text() == "WHO=prod\n"
    kargo.run("configure")
    assert (kargo.merged / "configs/front/greeting.txt").read_text() == "hello stg\n"
    assert probe.connections == 0
