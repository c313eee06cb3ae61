"""Workspaces that extend each other (chain.py): the chain read from each
`.env`'s KARGO_EXTENDS, its errors on one line naming the `.env` line, the
order of the layers (files and environment) and a deleted override reverting
to the layer below."""
import pytest

from kargo_tasks.base.errors import ConfigError
from kargo_tasks.operations.project import env_files, load
from kargo_tasks.workspace import chain, environment, merge
from kargo_tasks.workspace.layout import Layout
from support import write


@pytest.fixture
def lay(tmp_path):
    lay = Layout(tmp_path / "root")
    write(lay.defaults / ".env.default", "A=defaults\nB=defaults\nC=defaults\nD=defaults\n")
    lay.images.mkdir()
    return lay


def workspace(tmp_path, name, env="", files=None):
    folder = tmp_path / name
    write(folder / ".env", env)
    for rel, text in (files or {}).items():
        write(folder / rel, text)
    return folder


def chain_error(folder):
    with pytest.raises(ConfigError) as info:
        chain.bases(folder.resolve())
    return str(info.value)


# --- the chain ------------------------------------------------------------------------

def test_a_workspace_that_extends_nothing_has_no_bases(tmp_path):
    assert chain.bases(workspace(tmp_path, "ws", "A=1\n").resolve()) == ()
    assert chain.bases((tmp_path / "no-env").resolve()) == ()
    assert chain.bases(workspace(tmp_path, "empty", "KARGO_EXTENDS=\n").resolve()) == ()


def test_a_chain_of_three_is_read_farthest_first(tmp_path):
    common = workspace(tmp_path, "common")
    workspace(tmp_path, "sites/base", "X=1\nKARGO_EXTENDS=../../common\n")
    ws = workspace(tmp_path, "staging", "KARGO_EXTENDS='../sites/base' # the shared one\n")
    found = chain.bases(ws.resolve())
    assert [b.path for b in found] == [common.resolve(), (tmp_path / "sites/base").resolve()]
    assert [b.name for b in found] == ["../common", "../sites/base"]
    assert [b.where for b in found] == [f"{tmp_path / 'sites/base/.env'}:2", f"{ws / '.env'}:1"]


def test_an_absolute_base_path(tmp_path):
    base = workspace(tmp_path, "base")
    ws = workspace(tmp_path, "ws", f"KARGO_EXTENDS={base}\n")
    assert [b.path for b in chain.bases(ws.resolve())] == [base.resolve()]


def test_a_missing_base_names_the_env_line(tmp_path):
    ws = workspace(tmp_path, "ws", "A=1\nKARGO_EXTENDS=../nowhere\n")
    assert chain_error(ws) == (f"{ws / '.env'}:2: KARGO_EXTENDS: the base workspace "
                               f"{ws / '../nowhere'} does not exist")


def test_a_base_that_is_a_file_or_has_no_env_is_refused(tmp_path):
    write(tmp_path / "file", "x\n")
    (tmp_path / "bare").mkdir()
    ws = workspace(tmp_path, "ws", "KARGO_EXTENDS=../file\n")
    assert chain_error(ws).endswith("is not a folder")
    write(ws / ".env", "KARGO_EXTENDS=../bare\n")
    message = chain_error(ws)
    assert message.startswith(f"{ws / '.env'}:1: KARGO_EXTENDS: {(tmp_path / 'bare').resolve()} "
                              "is not a workspace folder")


def test_a_missing_base_further_down_names_that_base_env(tmp_path):
    workspace(tmp_path, "base", "KARGO_EXTENDS=../gone\n")
    ws = workspace(tmp_path, "ws", "KARGO_EXTENDS=../base\n")
    assert chain_error(ws).startswith(f"{tmp_path / 'base/.env'}:1: KARGO_EXTENDS: ")


def test_a_cycle_is_one_line_naming_the_line_that_closes_it(tmp_path):
    workspace(tmp_path, "a", "KARGO_EXTENDS=../b\n")
    workspace(tmp_path, "b", "B=1\nKARGO_EXTENDS=../a\n")
    message = chain_error(tmp_path / "a")
    a, b = (tmp_path / "a").resolve(), (tmp_path / "b").resolve()
    assert message == (f"{tmp_path / 'b/.env'}:2: KARGO_EXTENDS: workspaces extend each other "
                       f"in a cycle: {a} -> {b} -> {a}")
    assert "\n" not in message


def test_a_workspace_extending_itself_is_a_cycle(tmp_path):
    ws = workspace(tmp_path, "ws", "KARGO_EXTENDS=.\n")
    assert "in a cycle" in chain_error(ws)


def test_a_reference_in_kargo_extends_is_refused(tmp_path):
    ws = workspace(tmp_path, "ws", "KARGO_EXTENDS=${HOME}/base\n")
    assert chain_error(ws) == (f"{ws / '.env'}:1: KARGO_EXTENDS cannot refer to variables: the "
                               "chain of workspaces is read before the environment")


def test_kargo_extends_anywhere_but_a_workspace_env_is_refused(tmp_path, lay):
    ws = workspace(tmp_path, "ws").resolve()
    files = [lay.defaults / ".env.default", ws / ".env", ws / ".env.age"]
    chain.check_origin({"KARGO_EXTENDS": f"{ws / '.env'}:1"}, files)  # the one place
    for origin, said in (("shell", "shell: KARGO_EXTENDS is set in the shell"),
                         (f"{files[0]}:3", f"{files[0]}:3: KARGO_EXTENDS may be set in a "
                                           "workspace's .env only"),
                         (f"{files[2]}:1", f"{files[2]}:1: KARGO_EXTENDS may be set")):
        with pytest.raises(ConfigError) as info:
            chain.check_origin({"KARGO_EXTENDS": origin}, files)
        assert str(info.value).startswith(said)


# --- the layers -----------------------------------------------------------------------

def test_files_overlay_defaults_then_bases_farthest_first_then_the_workspace(tmp_path, lay):
    write(lay.defaults / "configs/a.conf", "defaults\n")
    write(lay.defaults / "configs/b.conf", "defaults\n")
    write(lay.defaults / "configs/c.conf", "defaults\n")
    workspace(tmp_path, "common", files={"configs/b.conf": "common\n", "configs/c.conf": "common\n",
                                         "configs/d.conf.tpl": "common ${A}\n"})
    workspace(tmp_path, "base", "KARGO_EXTENDS=../common\n", files={"configs/c.conf": "base\n"})
    ws = workspace(tmp_path, "ws", "KARGO_EXTENDS=../base\n", files={"configs/e.conf": "ws\n"})
    bases = chain.bases(ws.resolve())
    layers = merge.layers(lay, ws.resolve(), bases)
    assert [layer.name for layer in layers] == ["defaults", "images", "base ../common",
                                                "base ../base", "workspace"]
    found = {out: (s.layer, s.kind) for out, s in merge.overlay(layers).items()}
    assert found == {"configs/a.conf": ("defaults", "copy"),
                     "configs/b.conf": ("base ../common", "copy"),
                     "configs/c.conf": ("base ../base", "copy"),
                     "configs/d.conf": ("base ../common", "subst"),
                     "configs/e.conf": ("workspace", "copy")}


def test_a_deleted_override_reverts_to_the_layer_below_not_to_defaults(tmp_path, lay):
    write(lay.defaults / "configs/a.conf", "defaults\n")
    base = workspace(tmp_path, "base", files={"configs/a.conf": "base\n"})
    ws = workspace(tmp_path, "ws", "KARGO_EXTENDS=../base\n", files={"configs/a.conf": "ws\n"})

    def source():
        layers = merge.layers(lay, ws.resolve(), chain.bases(ws.resolve()))
        return merge.overlay(layers)["configs/a.conf"]
    assert source().layer == "workspace"
    (ws / "configs/a.conf").unlink()
    assert source().layer == "base ../base"
    assert source().path == (base / "configs/a.conf").resolve()
    (base / "configs/a.conf").unlink()
    assert source().layer == "defaults"


def test_a_template_in_a_base_and_a_copy_in_the_workspace_make_one_output(tmp_path, lay):
    workspace(tmp_path, "base", files={"configs/a.conf.j2": "{{ A }}\n"})
    ws = workspace(tmp_path, "ws", "KARGO_EXTENDS=../base\n", files={"configs/a.conf": "plain\n"})
    overlay = merge.overlay(merge.layers(lay, ws.resolve(), chain.bases(ws.resolve())))
    assert (overlay["configs/a.conf"].layer, overlay["configs/a.conf"].kind) == \
        ("workspace", "copy")


def test_a_base_kept_inside_the_workspace_is_its_own_layer(tmp_path, lay):
    ws = workspace(tmp_path, "ws", "KARGO_EXTENDS=shared\n", files={"configs/a.conf": "ws\n"})
    workspace(tmp_path, "ws/shared", files={"configs/b.conf": "shared\n"})
    overlay = merge.overlay(merge.layers(lay, ws.resolve(), chain.bases(ws.resolve())))
    assert {out: s.layer for out, s in overlay.items()} == {
        "configs/a.conf": "workspace", "configs/b.conf": "base shared"}


def test_a_workspace_kept_inside_its_base_is_its_own_layer(tmp_path, lay):
    workspace(tmp_path, "platform", files={"configs/a.conf": "base\n"})
    ws = workspace(tmp_path, "platform/staging", "KARGO_EXTENDS=..\n",
                   files={"configs/b.conf": "ws\n"})
    overlay = merge.overlay(merge.layers(lay, ws.resolve(), chain.bases(ws.resolve())))
    assert {out: s.layer for out, s in overlay.items()} == {
        "configs/a.conf": "base ..", "configs/b.conf": "workspace"}
    project = load(lay.root, {"KARGO_WORKSPACE": str(ws)})
    assert project.relative(ws.resolve() / "configs/b.conf") == "configs/b.conf (workspace)"
    assert project.relative((tmp_path / "platform/configs/a.conf").resolve()) == \
        "configs/a.conf (base ..)"


def test_the_environment_layers_in_the_same_order_the_shell_last(tmp_path, lay):
    workspace(tmp_path, "common", "A=common\nB=common\nC=common\nD=common-${A}\n")
    workspace(tmp_path, "base", "KARGO_EXTENDS=../common\nB=base\nC=${C}+base\n")
    ws = workspace(tmp_path, "ws", "KARGO_EXTENDS=../base\nC=${C}+ws\n")
    files = env_files(lay, ws.resolve(), chain.bases(ws.resolve()))
    assert files == [lay.defaults / ".env.default", (tmp_path / "common/.env").resolve(),
                     (tmp_path / "base/.env").resolve(), ws.resolve() / ".env"]
    env = environment.load(files, {"A": "shell"})
    assert [env.get(n) for n in "ABCD"] == ["shell", "base", "common+base+ws", "common-shell"]
    assert env.origins["B"] == f"{(tmp_path / 'base/.env').resolve()}:2"


def test_the_project_names_the_layer_of_a_file_and_a_variable(tmp_path, lay):
    workspace(tmp_path, "base", "B=base\n", files={"configs/b.conf": "base\n"})
    ws = workspace(tmp_path, "ws", "KARGO_EXTENDS=../base\nC=ws\nE=${B}-${C}\n")
    project = load(lay.root, {"KARGO_WORKSPACE": str(ws)})
    assert project.error is None
    base = (tmp_path / "base").resolve()
    assert [b.path for b in project.bases] == [base]
    assert project.relative(base / "configs/b.conf") == "configs/b.conf (base ../base)"
    assert project.relative(ws.resolve() / "x") == "x (workspace)"
    assert project.variable_changed("B") == "variable B changed (base ../base .env:1)"
    assert project.variable_changed("C") == "variable C changed (workspace .env:2)"
    assert project.variable_changed("A") == "variable A changed (defaults/.env.default:1)"
    assert project.variable_changed("NONE") == "variable NONE changed (now unset)"
    assert project.variable_changed("E") == \
        "variable E changed (workspace .env:3, made with base ../base .env)"


def test_a_broken_chain_is_the_project_error(tmp_path, lay):
    ws = workspace(tmp_path, "ws", "KARGO_EXTENDS=../gone\n")
    project = load(lay.root, {"KARGO_WORKSPACE": str(ws)})
    assert str(project.error).startswith(f"{ws.resolve() / '.env'}:1: KARGO_EXTENDS: ")


def test_an_engine_a_base_names_is_said_with_its_layer(tmp_path, lay):
    from kargo_tasks.operations.project import engine_settings
    workspace(tmp_path, "base", "DOCKER_HOST=tcp://base.example:2375\nDOCKER_CERT_PATH=certs\n")
    ws = workspace(tmp_path, "ws", "KARGO_EXTENDS=../base\n")
    project = load(lay.root, {"KARGO_WORKSPACE": str(ws)})
    environ, sources = engine_settings(project)
    base = (tmp_path / "base").resolve()
    assert environ["DOCKER_HOST"] == "tcp://base.example:2375"
    assert sources["DOCKER_HOST"].shown == f"the .env of the base ../base {base / '.env'}:1"
    # a relative path a base's .env gives starts in that base's folder
    assert sources["DOCKER_CERT_PATH"].folder == str(base)


def test_what_kargo_seals_is_for_the_nearest_recipients_of_the_chain(tmp_path):
    from kargo_tasks.workspace.sealed import sealing_folder
    common = workspace(tmp_path, "common", files={".age-recipients": "age1x\n"})
    workspace(tmp_path, "base", "KARGO_EXTENDS=../common\n")
    ws = workspace(tmp_path, "ws", "KARGO_EXTENDS=../base\n").resolve()
    bases = chain.bases(ws)
    assert sealing_folder(ws, bases) == common.resolve()
    write(tmp_path / "base/.age-recipients", "age1y\n")
    assert sealing_folder(ws, bases) == (tmp_path / "base").resolve()
    write(ws / ".age-recipients", "age1z\n")
    assert sealing_folder(ws, bases) == ws
    assert sealing_folder(None, bases) is None
