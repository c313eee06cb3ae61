"""`merge.overlay`: which source file makes each output of `.kargo/`."""
import os

import pytest

from kargo_tasks.base.errors import ConfigError
from kargo_tasks.workspace import merge
from kargo_tasks.workspace.layout import Layout
from kargo_tasks.workspace.merge import Layer, Source, output_of
from support import write


@pytest.fixture
def root(tmp_path):
    lay = Layout(tmp_path / "root")
    lay.defaults.mkdir(parents=True)
    lay.images.mkdir()
    return lay


@pytest.fixture
def ws(tmp_path):
    path = tmp_path / "workspace"
    path.mkdir()
    return path


def files(base, *rels):
    for rel in rels:
        write(base / rel, f"{rel}\n")


def plan_of(lay, workspace=None):
    return merge.overlay(merge.layers(lay, workspace))


def summary(plan):
    """{output: (layer, kind, source path relative to its layer root)}."""
    return {out: (s.layer, s.kind, s.path.name) for out, s in plan.items()}


def plan_error(lay, workspace=None):
    with pytest.raises(ConfigError) as info:
        plan_of(lay, workspace)
    return str(info.value)


# --- layers -----------------------------------------------------------------

def test_layers_of_a_root_with_and_without_workspace(root, ws):
    names = [(l.name, l.root, l.under) for l in merge.layers(root, ws)]
    assert names == [("defaults", root.defaults, ""), ("images", root.images, "images"),
                     ("workspace", ws, "")]
    assert [l.name for l in merge.layers(root, None)] == ["defaults", "images"]


def test_defaults_images_and_workspace_are_overlaid(root, ws):
    files(root.defaults, "deploy/front.yml", "configs/front/a.conf", "configs/front/b.conf")
    files(root.images, "mapproxy/Dockerfile", "mapproxy/mapproxy.yaml")
    files(ws, "configs/front/b.conf", "configs/front/extra.conf", "deploy/mine.yml")
    plan = plan_of(root, ws)
    assert summary(plan) == {
        "configs/front/a.conf": ("defaults", "copy", "a.conf"),
        "configs/front/b.conf": ("workspace", "copy", "b.conf"),
        "configs/front/extra.conf": ("workspace", "copy", "extra.conf"),
        "deploy/front.yml": ("defaults", "copy", "front.yml"),
        "deploy/mine.yml": ("workspace", "copy", "mine.yml"),
        "images/mapproxy/Dockerfile": ("images", "copy", "Dockerfile"),
        "images/mapproxy/mapproxy.yaml": ("images", "copy", "mapproxy.yaml"),
    }
    assert plan["configs/front/b.conf"].path == ws / "configs/front/b.conf"
    assert plan["configs/front/a.conf"].path == root.defaults / "configs/front/a.conf"
    assert list(plan) == sorted(plan)


def test_workspace_may_override_an_image_file(root, ws):
    files(root.images, "mapproxy/Dockerfile")
    files(ws, "images/mapproxy/Dockerfile")
    source = plan_of(root, ws)["images/mapproxy/Dockerfile"]
    assert source == Source(ws / "images/mapproxy/Dockerfile", "copy", "workspace")


def test_no_workspace_and_missing_layers(root, tmp_path):
    files(root.defaults, "a.conf")
    assert summary(plan_of(root)) == {"a.conf": ("defaults", "copy", "a.conf")}
    empty = Layout(tmp_path / "nothing")
    assert plan_of(empty, tmp_path / "no-workspace") == {}


# --- templates ---------------------------------------------------------------

@pytest.mark.parametrize("rel, expected", [
    ("a.yml", ("a.yml", "copy")),
    ("a.yml.j2", ("a.yml", "jinja")),
    ("a.yml.tpl", ("a.yml", "subst")),
    ("configs/x/page.html.j2", ("configs/x/page.html", "jinja")),
    ("configs/x/greeting.txt.tpl", ("configs/x/greeting.txt", "subst")),
    ("a.tpl.j2", ("a.tpl", "jinja")),      # one suffix only
    ("a.j2.tpl", ("a.j2", "subst")),
    ("a.j2x", ("a.j2x", "copy")),
    ("a_tpl", ("a_tpl", "copy")),
    (".tpl", (".tpl", "copy")),             # nothing would be left
    ("configs/.j2", ("configs/.j2", "copy")),
    ("configs/.tpl", ("configs/.tpl", "copy")),
])
def test_output_of(rel, expected):
    assert output_of(rel) == expected


def test_template_outputs_drop_the_suffix(root, ws):
    files(root.defaults, "configs/a.txt.tpl", "configs/b.html.j2", "configs/c.conf")
    files(ws, "configs/c.conf.tpl", "configs/d.yml.j2")
    assert summary(plan_of(root, ws)) == {
        "configs/a.txt": ("defaults", "subst", "a.txt.tpl"),
        "configs/b.html": ("defaults", "jinja", "b.html.j2"),
        "configs/c.conf": ("workspace", "subst", "c.conf.tpl"),
        "configs/d.yml": ("workspace", "jinja", "d.yml.j2"),
    }


def test_a_workspace_copy_overrides_a_default_template(root, ws):
    files(root.defaults, "deploy/front.yml.j2")
    files(ws, "deploy/front.yml")
    assert summary(plan_of(root, ws)) == {"deploy/front.yml": ("workspace", "copy", "front.yml")}


@pytest.mark.parametrize("pair", [
    ("x.yml", "x.yml.tpl"),
    ("x.yml", "x.yml.j2"),
    ("x.yml.j2", "x.yml.tpl"),
])
@pytest.mark.parametrize("layer", ["defaults", "workspace"])
def test_two_sources_for_one_output_in_one_layer(root, ws, pair, layer):
    base = root.defaults if layer == "defaults" else ws
    files(base, *(f"deploy/{name}" for name in pair))
    message = plan_error(root, ws)
    assert message.startswith(f"{base / 'deploy'}: both ")
    assert all(name in message for name in pair)
    assert message.endswith("make deploy/x.yml")


def test_same_output_in_two_layers_is_an_override(root, ws):
    files(root.defaults, "deploy/x.yml")
    files(ws, "deploy/x.yml.tpl")
    assert plan_of(root, ws)["deploy/x.yml"].layer == "workspace"


# --- what is not an overlay file ---------------------------------------------

def test_top_level_dotfiles_and_layer_files_are_skipped(root, ws):
    files(root.defaults, ".env.default", "README.md", ".hidden", ".git/config", "keep.conf")
    files(root.images, "README.md", ".gitignore", "x/Dockerfile")
    files(ws, ".env", ".envrc", ".git/HEAD", ".vscode/settings.json", "mine.conf")
    assert set(plan_of(root, ws)) == {"keep.conf", "images/x/Dockerfile", "mine.conf"}


def test_nested_dotfiles_are_kept_but_not_git_folders(root, ws):
    files(root.images, "x/Dockerfile", "x/.dockerignore", "x/.config/a", "x/.git/HEAD")
    # configs/shared is a submodule: its .git is a file naming its git data
    files(ws, "configs/front/.htaccess", "configs/.git/HEAD", "configs/shared/.git")
    assert set(plan_of(root, ws)) == {
        "images/x/Dockerfile", "images/x/.dockerignore", "images/x/.config/a",
        "configs/front/.htaccess",
    }


def test_readme_is_only_skipped_at_the_top(root):
    files(root.defaults, "README.md", "configs/README.md")
    assert set(plan_of(root)) == {"configs/README.md"}


def test_leftover_temp_files_are_skipped(root):
    files(root.defaults, "configs/a.conf", "configs/.a.conf.1234.tmp")
    assert set(plan_of(root)) == {"configs/a.conf"}


@pytest.mark.parametrize("rel", ["stacks/web.yml", "stacks/x/y.conf", ".state/db",
                                 "stacks.tpl", "stacks/z.yml.j2"])
def test_workspace_files_in_reserved_folders_are_refused(root, ws, rel):
    files(ws, rel)
    top = rel.split("/")[0].removesuffix(".tpl")
    assert plan_error(root, ws) == f"{ws / rel}: {top}/ is reserved for kargo's own files"


def test_default_files_in_reserved_folders_are_refused(root):
    files(root.defaults, "stacks/web.yml")
    assert "stacks/ is reserved" in plan_error(root)


def test_reserved_names_are_fine_deeper_or_under_images(root, ws):
    files(ws, "configs/stacks/a.conf", "configs/.state")
    files(root.images, "stacks/Dockerfile")
    assert set(plan_of(root, ws)) == {"configs/stacks/a.conf", "configs/.state",
                                      "images/stacks/Dockerfile"}


# --- symbolic links -----------------------------------------------------------

def test_symlink_inside_the_workspace_is_followed(root, ws):
    files(ws, "shared/common.conf")
    os.makedirs(ws / "configs/front")
    os.symlink(ws / "shared/common.conf", ws / "configs/front/common.conf")
    os.symlink("../shared", ws / "configs/linked")
    plan = plan_of(root, ws)
    assert set(plan) == {"shared/common.conf", "configs/front/common.conf",
                         "configs/linked/common.conf"}
    assert plan["configs/linked/common.conf"].path == ws / "configs/linked/common.conf"


def test_symlink_to_a_file_outside_the_workspace_is_refused(root, ws, tmp_path):
    outside = write(tmp_path / "secret.txt", "secret\n")
    os.makedirs(ws / "configs")
    link = ws / "configs/leak.conf"
    os.symlink(outside, link)
    assert plan_error(root, ws) == f"{link}: symbolic link points outside {ws}"


def test_symlink_to_a_folder_outside_the_workspace_is_refused(root, ws, tmp_path):
    (tmp_path / "elsewhere").mkdir()
    files(tmp_path / "elsewhere", "x.conf")
    link = ws / "configs"
    os.symlink(tmp_path / "elsewhere", link)
    assert plan_error(root, ws) == f"{link}: symbolic link points outside {ws}"


def test_relative_symlink_escaping_the_workspace_is_refused(root, ws, tmp_path):
    write(tmp_path / "secret.txt", "secret\n")
    os.makedirs(ws / "configs")
    link = ws / "configs/leak.conf"
    os.symlink("../../secret.txt", link)
    assert plan_error(root, ws).startswith(f"{link}: symbolic link points outside")


def test_symlink_into_a_sibling_with_a_common_prefix_is_outside(root, tmp_path):
    # /x/workspace-other is not inside /x/workspace
    sibling = tmp_path / "workspace-other"
    files(sibling, "a.conf")
    ws = tmp_path / "workspace"
    ws.mkdir()
    os.symlink(sibling / "a.conf", ws / "a.conf")
    assert "points outside" in plan_error(root, ws)


def test_broken_symlink_is_refused(root, ws):
    os.makedirs(ws / "configs")
    link = ws / "configs/gone.conf"
    os.symlink(ws / "configs/missing.conf", link)
    assert plan_error(root, ws) == f"{link}: broken symbolic link"


def test_workspace_reached_through_a_symlink(root, ws, tmp_path):
    files(ws, "a.conf")
    os.symlink(ws / "a.conf", ws / "b.conf")
    alias = tmp_path / "alias"
    os.symlink(ws, alias)
    assert set(plan_of(root, alias)) == {"a.conf", "b.conf"}


@pytest.mark.parametrize("target", [".", "..", "../.."])
def test_symlink_loop_is_refused(root, ws, target):
    files(ws, "a/b/f.conf")
    link = ws / "a/b/loop"
    os.symlink(target, link)
    assert plan_error(root, ws) == f"{link}: symbolic link to a folder that contains it (a loop)"


def test_symlink_loop_through_two_links_is_refused(root, ws):
    files(ws, "a/f.conf", "b/g.conf")
    os.symlink("../b", ws / "a/to-b")
    os.symlink("../a", ws / "b/to-a")
    assert "(a loop)" in plan_error(root, ws)
