"""Workspaces that extend each other, through doit itself (no engine): the
layers of a chain in `.kargo/`, `show` listing the chain, only what a base's
change reaches remade, `plan` naming the layer of a file and a variable, a
deleted override reverting to the layer below, extensions and encrypted
files in a base, and a broken chain as one line that changes nothing."""
import subprocess
import sys

import pytest

from support import age_encrypt, age_keygen, write
from untouched import one_error_line, probe, state  # noqa: F401

SECRET = "ch41n-canary-secret"
ENV_VALUE = "ch41n-canary-env"


@pytest.fixture
def chained(kargo, tmp_path):
    """common <- base <- the workspace: common overrides plain.conf, base
    sets WHO (read by two templates) and adds its own file."""
    common = tmp_path / "common"
    write(common / ".env", "# shared by every platform\n")
    write(common / "configs/front/plain.conf", "plain = common\n")
    base = tmp_path / "base"
    write(base / ".env", "KARGO_EXTENDS=../common\nWHO=base\n")
    write(base / "configs/front/base-only.conf", "base only\n")
    write(kargo.workspace / ".env", "KARGO_EXTENDS=../base\n")
    return common, base


def ran(proc):
    return [line[3:] for line in proc.stdout.splitlines() if line.startswith(".  ")]


def test_the_chain_is_overlaid_and_shown(kargo, chained):
    common, base = chained
    kargo.run("configure")
    merged = kargo.merged
    assert (merged / "configs/front/plain.conf").read_text() == "plain = common\n"
    assert (merged / "configs/front/base-only.conf").read_text() == "base only\n"
    assert (merged / "configs/front/greeting.txt").read_text() == "hello base\n"
    assert (merged / "configs/front/page.html").read_text() == "<p>hello base</p>\n"
    shown = kargo.run("show").stdout.splitlines()
    at = shown.index(f"workspace: {kargo.workspace}")
    assert shown[at + 1:at + 3] == [
        f"  extends: {base} (KARGO_EXTENDS at {kargo.workspace / '.env'}:1)",
        f"  extends: {common} (KARGO_EXTENDS at {base / '.env'}:1)"]
    listed = kargo.run("list", "--all", "--private").stdout
    assert "_configure:configs/front/base-only.conf" in listed


def test_a_base_change_remakes_exactly_what_reads_it(kargo, chained):
    common, base = chained
    kargo.run("configure")
    assert kargo.run("configure").stdout == ""
    # a base's file: its output only; doit sees the base's file as the dependency
    write(common / "configs/front/plain.conf", "plain = common 2\n")
    plan = kargo.run("plan", "configure", check=False)
    assert plan.stdout == ("_configure:configs/front/plain.conf\n"
                           "    configs/front/plain.conf (base ../common) changed\n")
    assert ran(kargo.run("configure")) == ["_configure:configs/front/plain.conf"]
    assert (kargo.merged / "configs/front/plain.conf").read_text() == "plain = common 2\n"
    # a base's variable: the two templates reading it, named with its layer
    write(base / ".env", "KARGO_EXTENDS=../common\nWHO=base 2\n")
    plan = kargo.run("plan", "configure", check=False).stdout
    # GREETING is set in the defaults, made with WHO of the base
    said = "variable GREETING changed (defaults/.env.default:6, made with base ../base .env)"
    assert plan.count(said) == 2, plan
    assert sorted(ran(kargo.run("configure"))) == ["_configure:configs/front/greeting.txt",
                                                   "_configure:configs/front/page.html"]
    # a variable the workspace sets over the base's: named with the workspace
    write(kargo.workspace / ".env", "KARGO_EXTENDS=../base\nGREETING=hi\n")
    plan = kargo.run("plan", "configure", check=False).stdout
    assert "variable GREETING changed (workspace .env:2)" in plan, plan
    kargo.run("configure")
    # a base file the workspace overrides: nothing to do
    write(kargo.workspace / "configs/front/base-only.conf", "mine\n")
    kargo.run("configure")
    write(base / "configs/front/base-only.conf", "base only 2\n")
    assert kargo.run("plan", "configure", check=False).stdout == "nothing to do\n"
    assert kargo.run("configure").stdout == ""


def test_a_deleted_override_reverts_to_the_layer_below(kargo, chained):
    common, base = chained
    override = write(kargo.workspace / "configs/front/plain.conf", "plain = mine\n")
    write(base / "configs/front/plain.conf", "plain = base\n")
    kargo.run("configure")
    assert (kargo.merged / "configs/front/plain.conf").read_text() == "plain = mine\n"
    override.unlink()
    plan = kargo.run("plan", "configure", check=False).stdout.splitlines()
    assert plan[:2] == ["_configure:configs/front/plain.conf",
                        "    now made from configs/front/plain.conf (base ../base)"], plan
    assert "    configs/front/plain.conf (workspace) is no longer an input" in plan
    assert ran(kargo.run("configure")) == ["_configure:configs/front/plain.conf"]
    assert (kargo.merged / "configs/front/plain.conf").read_text() == "plain = base\n"
    (base / "configs/front/plain.conf").unlink()
    kargo.run("configure")
    assert (kargo.merged / "configs/front/plain.conf").read_text() == "plain = common\n"
    (common / "configs/front/plain.conf").unlink()
    kargo.run("configure")
    assert (kargo.merged / "configs/front/plain.conf").read_text() == "plain = 1\n"


def test_an_extension_and_a_template_of_a_base_are_the_workspace_s(kargo, chained):
    common, base = chained
    # the extension is named in the base, its file is in common, a template in base
    write(base / ".env", "KARGO_EXTENDS=../common\nWHO=base\nFRONT_EXTENSION=front-more\n")
    write(common / "deploy/front-more.yml", """
        version: "3.8"
        services:
          front:
            environment:
              - GREETING
    """)
    write(base / "configs/front/plain.conf.tpl", "plain = ${WHO}\n")
    kargo.run("configure", "_stack")
    stack = (kargo.merged / "stacks/web.yml").read_text()
    assert "GREETING: hello base" in stack, stack
    assert (kargo.merged / "configs/front/plain.conf").read_text() == "plain = base\n"


@pytest.mark.parametrize("case", ["missing", "cycle", "not a workspace", "a reference",
                                  "shell"])
def test_a_broken_chain_is_one_line_and_changes_nothing(kargo, chained, probe, case):
    common, base = chained
    kargo.run("configure")
    kargo.env["DOCKER_HOST"] = probe.url  # the engine: never asked
    before = state(kargo)
    env = None
    if case == "missing":
        write(base / ".env", "WHO=x\nKARGO_EXTENDS=../gone\n")
        said = f"{base / '.env'}:2: KARGO_EXTENDS: the base workspace"
    elif case == "cycle":
        write(common / ".env", "KARGO_EXTENDS=../workspace\n")
        said = f"{common / '.env'}:1: KARGO_EXTENDS: workspaces extend each other in a cycle"
    elif case == "not a workspace":
        (common / ".env").unlink()
        said = f"{base / '.env'}:1: KARGO_EXTENDS: {common} is not a workspace folder"
    elif case == "a reference":
        write(kargo.workspace / ".env", "KARGO_EXTENDS=${HOME}/base\n")
        said = f"{kargo.workspace / '.env'}:1: KARGO_EXTENDS cannot refer to variables"
    else:
        env = {"KARGO_EXTENDS": "../common"}
        said = "shell: KARGO_EXTENDS is set in the shell"
    for command in (["configure"], ["deploy"], ["plan"]):
        line = one_error_line(kargo.run(*command, check=False, env=env))
        assert said in line, line
    assert state(kargo) == before
    assert probe.connections == 0


def test_encrypted_files_of_a_base(kargo, chained, tmp_path):
    """A base's own `.age-recipients`, `secrets/db.age` and `.env.age`: the
    workspace (which has no recipients file) deploys them; what kargo
    encrypts into .kargo/ is for the nearest recipients of the chain."""
    common, base = chained
    key = tmp_path / "key.txt"
    write(base / ".age-recipients", f"{age_keygen(key)}\n")
    age_encrypt(f"{SECRET}\n", base / ".age-recipients", base / "secrets/db.age")
    age_encrypt(f"WHO={ENV_VALUE}\n", base / ".age-recipients", base / ".env.age", armor=True)
    kargo.env["KARGO_AGE_IDENTITY"] = str(key)
    proc = kargo.run("plan", "configure", check=False)
    assert proc.stdout.splitlines()[0] == \
        "encrypted (age): .env.age (base ../base), secrets/db.age (base ../base)"
    kargo.run("configure")
    found = [p for p in kargo.merged.rglob("*") if p.is_file()
             and (SECRET.encode() in p.read_bytes() or ENV_VALUE.encode() in p.read_bytes())]
    assert found == []
    # the rendered greeting read a value of the base's .env.age: kept sealed,
    # named after that file, and it opens with the identity
    greeting = kargo.merged / "configs/front/greeting.txt"
    assert greeting.read_bytes().startswith(f"kargo-sealed/v1 {base / '.env.age'}\n".encode())
    plain = subprocess.run([sys.executable, "-c",
                            "import sys; from kargo_tasks.workspace import sealed; "
                            "sys.stdout.buffer.write(sealed.read_merged(sys.argv[1]))",
                            str(greeting)], env=kargo.env, capture_output=True, check=True)
    assert plain.stdout.decode() == f"hello {ENV_VALUE}\n"
    assert subprocess.run(["age", "-d", "-i", str(key), str(base / "secrets/db.age")],
                          capture_output=True, check=True).stdout.decode() == f"{SECRET}\n"
    assert kargo.run("configure").stdout == ""


def test_rekey_leaves_a_base_kept_inside_the_workspace_to_its_own_recipients(kargo, tmp_path):
    ws = kargo.workspace
    key = tmp_path / "key.txt"
    public = age_keygen(key)
    write(ws / ".env", "KARGO_EXTENDS=shared\n")
    write(ws / ".age-recipients", f"{public}\n")
    write(ws / "shared/.env", "")
    write(ws / "shared/.age-recipients", f"{public}\n")
    age_encrypt(f"{SECRET}\n", ws / ".age-recipients", ws / "secrets/mine.age")
    age_encrypt(f"{SECRET}\n", ws / "shared/.age-recipients", ws / "shared/secrets/db.age")
    theirs = (ws / "shared/secrets/db.age").read_bytes()
    kargo.env["KARGO_AGE_IDENTITY"] = str(key)
    kargo.run("configure")
    assert sorted(p.name for p in (kargo.merged / "secrets").iterdir()) == ["db", "mine"]
    assert "rekeyed 1 file(s)" in kargo.run("rekey").stdout
    assert (ws / "shared/secrets/db.age").read_bytes() == theirs
