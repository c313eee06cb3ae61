"""Several platforms from one checkout, on one Swarm: the platform prefix
(`KARGO_PREFIX`: namespace.py) names a stack's Swarm namespace and is
checked; each workspace has its own folder of `.kargo/` (layout.py); the
node-label record is one per root and platform (labels.py)."""
from types import SimpleNamespace

import pytest

from kargo_tasks.base.errors import ConfigError
from kargo_tasks.deploy import history
from kargo_tasks.engine.labels import managed_key, merged_labels
from kargo_tasks.workspace.catalog import Stack, build, compose_file
from kargo_tasks.workspace.environment import Environment
from kargo_tasks.workspace.layout import NO_WORKSPACE, Layout, layout, workspace_key
from kargo_tasks.workspace.merge import Source
from kargo_tasks.workspace.namespace import Namespace, check_prefix, platform
from support import write


def environment(**values):
    return Environment(values, {name: f"/ws/.env:{n}" for n, name in enumerate(values, 1)})


# --- the prefix ---------------------------------------------------------------------

def test_a_stack_deploys_as_prefix_dash_stack_and_its_services_are_scoped():
    ns = Namespace.of("web", "staging")
    assert ns == "staging-web"
    assert ns.scope("front") == "staging-web_front"
    assert ns.descope("staging-web_front") == "front"
    assert ns.filters() == {"label": "com.docker.stack.namespace=staging-web"}
    assert Namespace.of("web") == "kargo-web"  # the default platform, as kargo always had it


@pytest.mark.parametrize("value", ["kargo", "staging", "prod-eu-1", "a", "0", "x" * 32, "a-b"])
def test_prefixes_docker_takes_in_every_name_they_lead(value):
    assert check_prefix(value) == value


@pytest.mark.parametrize("value", ["Staging", "prod_eu", "-prod", "prod-", "pr od", "pr.od",
                                   "x" * 33, "prod/eu", "é", " prod"])
def test_other_prefixes_are_one_line_naming_where_they_were_set(value):
    with pytest.raises(ConfigError) as info:
        platform(environment(KARGO_PREFIX=value))
    line = str(info.value)
    assert line.startswith("/ws/.env:1: KARGO_PREFIX must be 1 to 32 lower-case letters, digits")
    assert repr(value) in line and "\n" not in line


def test_an_unset_or_empty_prefix_is_the_default():
    assert platform(environment()) == "kargo"
    assert platform(environment(KARGO_PREFIX="")) == "kargo"


def test_the_catalog_puts_every_stack_on_the_platform_of_the_environment():
    plan = {compose_file("front"): Source(None, "copy", "defaults")}
    env = environment(STACKS="web", WEB_STACK="front", KARGO_PREFIX="production")
    stack = build(env, plan).stacks["web"]
    assert stack == Stack("web", ("front",), (), False, "production")
    assert stack.namespace == "production-web"
    with pytest.raises(ConfigError, match="KARGO_PREFIX must be"):
        build(environment(STACKS="web", WEB_STACK="front", KARGO_PREFIX="Prod"), plan)


# --- one folder of .kargo/ per workspace --------------------------------------------

def test_each_workspace_has_its_own_folder_named_for_the_operator(tmp_path):
    staging, other = tmp_path / "a/staging", tmp_path / "b/staging"
    staging.mkdir(parents=True)
    other.mkdir(parents=True)
    key = workspace_key(staging)
    assert key.startswith("staging-") and len(key) == len("staging-") + 8
    assert workspace_key(other) != key  # two workspaces of one name stay apart
    # the same workspace by another path is the same folder
    assert workspace_key(tmp_path / "a/../a/staging") == key
    (tmp_path / "link").symlink_to(staging)
    assert workspace_key(tmp_path / "link") == key
    assert workspace_key(None) == NO_WORKSPACE


def test_the_layout_of_a_run_is_the_chosen_workspaces_folder(tmp_path):
    root, staging, production = tmp_path / "root", tmp_path / "staging", tmp_path / "production"
    for folder in (root, staging, production):
        folder.mkdir()
    write(root / ".workspace", f"{staging}\n")
    lay = layout(root, {})
    assert lay.merged == root / ".kargo" / workspace_key(staging)
    assert lay.state == lay.merged / ".state" and lay.stacks == lay.merged / "stacks"
    # KARGO_WORKSPACE wins over the record, as it does for the workspace itself
    assert layout(root, {"KARGO_WORKSPACE": str(production)}).merged == (
        root / ".kargo" / workspace_key(production))
    (root / ".workspace").unlink()
    assert layout(root, {}).merged == root / ".kargo" / NO_WORKSPACE


def test_the_single_kargo_folder_of_before_moves_into_the_workspace_in_use(tmp_path):
    root = tmp_path / "root"
    write(root / ".kargo/.state/doit.db", "db")
    write(root / ".kargo/.state/clusters/web.json", "{}")
    write(root / ".kargo/stacks/web.yml", "services: {}\n")
    write(root / ".kargo/configs/front/plain.conf", "plain = 1\n")
    lay = Layout(root, key=workspace_key(tmp_path / "staging"))
    assert lay.make_state() == lay.state
    assert sorted(p.name for p in (root / ".kargo").iterdir()) == [lay.key]
    assert (lay.state / "doit.db").read_text() == "db"
    assert (lay.state / "clusters/web.json").is_file()
    assert (lay.stacks / "web.yml").is_file()
    assert (lay.merged / "configs/front/plain.conf").read_text() == "plain = 1\n"
    # another workspace's folder is never taken for the old layout
    production = Layout(root, key=workspace_key(tmp_path / "production"))
    production.make_state()
    assert (lay.state / "doit.db").is_file() and not (production.state / "doit.db").exists()


def test_with_no_workspace_chosen_the_old_folder_waits_for_one(tmp_path):
    root = tmp_path / "root"
    write(root / ".kargo/.state/doit.db", "db")
    Layout(root).make_state()
    assert (root / ".kargo/.state/doit.db").read_text() == "db"
    assert (root / ".kargo" / NO_WORKSPACE / ".state").is_dir()


# --- node labels: one record per root and platform ----------------------------------

def test_the_default_platform_keeps_the_record_of_its_root():
    assert managed_key("/srv/kargo") == managed_key("/srv/kargo", "kargo")
    staging, production = managed_key("/srv/kargo", "staging"), managed_key("/srv/kargo", "production")
    assert len({managed_key("/srv/kargo"), staging, production}) == 3


def test_two_platforms_of_one_root_keep_each_others_labels():
    staging, production = managed_key("/srv/kargo", "staging"), managed_key("/srv/kargo", "production")
    node = merged_labels({}, {"db": "true", "zone": "a"}, staging)
    node = merged_labels(node, {"db": "true"}, production)
    assert node == {"db": "true", "zone": "a", staging: "db,zone", production: "db"}
    # staging drops both: zone goes, db stays (production's record lists it)
    assert merged_labels(node, {}, staging) == {"db": "true", production: "db"}


def test_a_rollback_without_the_workspace_finds_the_prefix_the_stack_ran_under(tmp_path):
    lay = SimpleNamespace(state=tmp_path)
    history.converged(lay, Stack("web", ("front",), (), False, "staging"), {"stack": "v1"})
    assert history.platform_of(lay, "web") == "staging"
    assert history.platform_of(lay, "never") == "kargo"  # nothing recorded: the default
