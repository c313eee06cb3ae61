"""`catalog.build`: stacks, their services and dependencies, and the images."""
import pytest

from kargo_tasks.base.errors import ConfigError
from kargo_tasks.workspace import merge
from kargo_tasks.workspace.catalog import HOOKS, Image, Stack, build, compose_file, hook_file, is_hook
from kargo_tasks.workspace.environment import Environment
from kargo_tasks.workspace.layout import Layout
from kargo_tasks.workspace.merge import Source
from support import write


def environment(**values):
    """An Environment whose every variable comes from line n of `.env`."""
    return Environment(values, {name: f".env:{n}" for n, name in enumerate(values, 1)})


def plan_for(*outputs):
    """A plan holding `outputs` (only the keys matter to the catalog)."""
    return {out: Source(None, "copy", "defaults") for out in outputs}


def composes(*services):
    return plan_for(*(compose_file(s) for s in services))


def build_error(env, plan):
    with pytest.raises(ConfigError) as info:
        build(env, plan)
    return str(info.value)


PLATFORM = dict(
    STACKS="web db api",
    WEB_STACK="front proxy",
    WEB_DEPENDS="api",
    DB_STACK="mongodb",
    API_STACK="weacast-api",
    API_DEPENDS="db",
)
PLATFORM_PLAN = composes("front", "proxy", "mongodb", "weacast-api")


def test_stacks_in_stacks_order_with_services_and_dependencies():
    catalog = build(environment(**PLATFORM), PLATFORM_PLAN)
    assert list(catalog.stacks) == ["web", "db", "api"]
    assert catalog.stacks["web"] == Stack("web", ("front", "proxy"), ("api",))
    assert catalog.stacks["db"] == Stack("db", ("mongodb",), ())
    assert catalog.stacks["api"] == Stack("api", ("weacast-api",), ("db",))
    assert catalog.stacks["web"].namespace == "kargo-web"


def test_stack_names_map_to_prefixes():
    env = environment(STACKS="arome-france", AROME_FRANCE_STACK="arome-france-loader",
                      AROME_FRANCE_DEPENDS="base", BASE_STACK="")
    with pytest.raises(ConfigError, match="depends on base, which is not in STACKS"):
        build(env, composes("arome-france-loader"))
    env = environment(STACKS="base arome-france", BASE_STACK="",
                      AROME_FRANCE_STACK="arome-france-loader", AROME_FRANCE_DEPENDS="base")
    stack = build(env, composes("arome-france-loader")).stacks["arome-france"]
    assert stack == Stack("arome-france", ("arome-france-loader",), ("base",))


def test_no_stacks():
    catalog = build(environment(), {})
    assert catalog.stacks == {} and catalog.images == {}


def test_a_stack_may_have_no_services():
    assert build(environment(STACKS="empty", EMPTY_STACK=""), {}).stacks["empty"].services == ()


def test_extra_spaces_in_lists():
    env = environment(STACKS="  web \t db ", WEB_STACK=" front  ", DB_STACK="mongodb",
                      WEB_DEPENDS=" db ")
    catalog = build(env, composes("front", "mongodb"))
    assert list(catalog.stacks) == ["web", "db"]
    assert catalog.stacks["web"] == Stack("web", ("front",), ("db",))


@pytest.mark.parametrize("names, expected", [
    (["web"], ["db", "api", "web"]),
    (["api"], ["db", "api"]),
    (["db"], ["db"]),
    (["web", "db"], ["db", "api", "web"]),
    (["db", "web", "web"], ["db", "api", "web"]),
    ([], []),
])
def test_order_puts_dependencies_first(names, expected):
    catalog = build(environment(**PLATFORM), PLATFORM_PLAN)
    assert catalog.order(names) == expected


def test_order_keeps_stacks_order_between_independent_stacks():
    env = environment(STACKS="c a b d", C_STACK="", A_STACK="", B_STACK="", D_STACK="",
                      D_DEPENDS="b a")
    catalog = build(env, {})
    assert catalog.order(["d", "c"]) == ["c", "a", "b", "d"]
    assert catalog.order(["b", "a"]) == ["a", "b"]


def test_order_diamond_lists_each_stack_once():
    env = environment(STACKS="base left right top", BASE_STACK="", LEFT_STACK="",
                      RIGHT_STACK="", TOP_STACK="", LEFT_DEPENDS="base",
                      RIGHT_DEPENDS="base", TOP_DEPENDS="right left")
    assert build(env, {}).order(["top"]) == ["base", "left", "right", "top"]


def test_every_stack_comes_after_its_dependencies_whatever_the_stacks_order():
    # STACKS lists dependents first: dependencies must still come first
    env = environment(STACKS="web api db", WEB_STACK="", API_STACK="", DB_STACK="",
                      WEB_DEPENDS="api", API_DEPENDS="db")
    catalog = build(env, {})
    for names in (["web"], ["web", "api", "db"], ["api"]):
        order = catalog.order(names)
        for name in order:
            for dep in catalog.stacks[name].depends:
                assert order.index(dep) < order.index(name), order
    assert catalog.order(["web"]) == ["db", "api", "web"]


def test_stack_listed_without_services_variable():
    env = environment(STACKS="web ghost", WEB_STACK="front")
    assert build_error(env, composes("front")) == \
        ".env:1: stack ghost is listed in STACKS but GHOST_STACK is not set"


def test_stack_error_names_the_variable_when_its_origin_is_unknown():
    env = Environment({"STACKS": "arome-france"}, {})
    assert build_error(env, {}) == \
        "STACKS: stack arome-france is listed in STACKS but AROME_FRANCE_STACK is not set"


def test_service_without_compose_file():
    env = environment(STACKS="web", WEB_STACK="front missing")
    assert build_error(env, composes("front")) == \
        ".env:2: stack web: service missing has no compose file deploy/missing.yml"


def test_compose_file_must_be_in_the_plan_not_just_similar():
    env = environment(STACKS="web", WEB_STACK="front")
    for plan in (plan_for("deploy/front.yaml"), plan_for("deploy/front.yml.tpl"),
                 plan_for("configs/front.yml"), plan_for("deploy/x/front.yml")):
        assert "service front has no compose file" in build_error(env, plan)


def test_depends_on_an_unknown_stack():
    env = environment(STACKS="web", WEB_STACK="front", WEB_DEPENDS="db")
    assert build_error(env, composes("front")) == \
        ".env:3: stack web depends on db, which is not in STACKS"


def test_depends_on_a_stack_defined_but_not_listed():
    env = environment(STACKS="web", WEB_STACK="", WEB_DEPENDS="db", DB_STACK="mongodb")
    assert "depends on db, which is not in STACKS" in build_error(env, {})


@pytest.mark.parametrize("depends, cycle", [
    (dict(A_DEPENDS="b", B_DEPENDS="a"), "a -> b -> a"),
    (dict(A_DEPENDS="b", B_DEPENDS="c", C_DEPENDS="a"), "a -> b -> c -> a"),
    (dict(B_DEPENDS="c", C_DEPENDS="b"), "b -> c -> b"),
    (dict(A_DEPENDS="a"), "a -> a"),
])
def test_dependency_cycle(depends, cycle):
    env = environment(STACKS="a b c", A_STACK="", B_STACK="", C_STACK="", **depends)
    message = build_error(env, {})
    assert f"stacks depend on each other: {cycle}" in message
    first = cycle.split(" ")[0].upper()
    assert message.startswith(f"{env.origins[first + '_DEPENDS']}: ")


def test_shared_dependency_is_not_a_cycle():
    env = environment(STACKS="a b c", A_STACK="", B_STACK="", C_STACK="",
                      A_DEPENDS="c", B_DEPENDS="c a")
    assert build(env, {}).order(["b"]) == ["c", "a", "b"]


# --- images -------------------------------------------------------------------

def test_images_are_the_folders_of_images_with_a_dockerfile():
    plan = plan_for("images/mapproxy/Dockerfile", "images/mapproxy/mapproxy.yaml",
                    "images/mapserver/Dockerfile", "images/notes/README.md",
                    "images/deep/er/Dockerfile", "images/Dockerfile",
                    "configs/x/Dockerfile", "images/mapserver/Dockerfile.orig")
    images = build(environment(), plan).images
    assert images == {"mapproxy": Image("mapproxy", "images/mapproxy", ()),
                      "mapserver": Image("mapserver", "images/mapserver", ())}
    assert list(images) == ["mapproxy", "mapserver"]


def test_loader_context_makes_one_image_per_model():
    env = environment(WEACAST_MODELS="arome-france gfs-world  arpege-europe")
    plan = plan_for("images/weacast-loader/Dockerfile", "images/maputnik/Dockerfile")
    images = build(env, plan).images
    assert images == {
        "arome-france-loader": Image("arome-france-loader", "images/weacast-loader",
                                     (("MODEL", "arome-france"),)),
        "arpege-europe-loader": Image("arpege-europe-loader", "images/weacast-loader",
                                      (("MODEL", "arpege-europe"),)),
        "gfs-world-loader": Image("gfs-world-loader", "images/weacast-loader",
                                  (("MODEL", "gfs-world"),)),
        "maputnik": Image("maputnik", "images/maputnik", ()),
    }
    assert "weacast-loader" not in images
    assert images["arome-france-loader"].prefix == "AROME_FRANCE_LOADER"


def test_loader_context_without_models_makes_no_image():
    plan = plan_for("images/weacast-loader/Dockerfile")
    assert build(environment(), plan).images == {}
    assert build(environment(WEACAST_MODELS=" "), plan).images == {}


def test_models_without_loader_context_make_no_image():
    assert build(environment(WEACAST_MODELS="gfs-world"), {}).images == {}


def test_images_from_a_real_plan(tmp_path):
    lay = Layout(tmp_path / "root")
    write(lay.defaults / "deploy/front.yml", "services: {}\n")
    write(lay.images / "weacast-loader/Dockerfile", "FROM scratch\n")
    write(lay.images / "mapproxy/Dockerfile.j2", "FROM {{ BASE }}\n")
    write(lay.images / "README.md", "about images\n")
    workspace = tmp_path / "workspace"
    write(workspace / "images/mine/Dockerfile", "FROM scratch\n")
    write(workspace / "deploy/back.yml.tpl", "services: {}\n")
    plan = merge.overlay(merge.layers(lay, workspace))
    env = environment(STACKS="web", WEB_STACK="front back", WEACAST_MODELS="gfs-world")
    catalog = build(env, plan)
    assert catalog.stacks["web"].services == ("front", "back")
    assert set(catalog.images) == {"gfs-world-loader", "mapproxy", "mine"}
    assert catalog.images["mine"].context == "images/mine"


def test_atomic_takes_the_booleans_of_the_docker_cli():
    plan = composes("mongodb")
    for value, atomic in (("true", True), ("1", True), ("False", False), ("", False)):
        env = environment(STACKS="db", DB_STACK="mongodb", DB_ATOMIC=value)
        assert build(env, plan).stacks["db"].atomic is atomic
    assert build(environment(STACKS="db", DB_STACK="mongodb"), plan).stacks["db"].atomic is False
    error = build_error(environment(STACKS="db", DB_STACK="mongodb", DB_ATOMIC="yes"), plan)
    assert error == ".env:3: DB_ATOMIC must be true or false, not 'yes'"


def test_the_images_a_stack_runs_are_the_ones_doit_build_builds():
    from kargo_tasks.workspace.catalog import images_of, used_images
    env = environment(STACKS="web", WEB_STACK="front seeder", WEACAST_MODELS="gfs-world",
                      MAPPROXY_IMAGE="reg/mapproxy", FRONT_IMAGE="reg/mapproxy",
                      SEEDER_IMAGE="reg/seeder", SEEDER_TAG="2",
                      GFS_WORLD_LOADER_IMAGE="reg/gfs")  # no service runs the loader
    plan = {**composes("front", "seeder"), **plan_for(
        "images/mapproxy/Dockerfile", "images/weacast-loader/Dockerfile",
        "images/seeder/Dockerfile", "images/nameless/Dockerfile")}  # no NAMELESS_IMAGE
    catalog = build(env, plan)
    assert set(catalog.images) == {"mapproxy", "gfs-world-loader", "seeder", "nameless"}
    # front runs mapproxy's image (same reference); seeder its own
    assert images_of(catalog.stacks["web"], catalog, env) == ["mapproxy", "seeder"]
    assert used_images(catalog, env) == ["mapproxy", "seeder"]
    # a service without <SERVICE>_IMAGE does not run the image without <IMAGE>_IMAGE
    env = environment(STACKS="web", WEB_STACK="front")
    catalog = build(env, {**composes("front"), **plan_for("images/nameless/Dockerfile")})
    assert used_images(catalog, env) == []


def test_a_stack_namespace_owns_the_names_in_the_engine():
    namespace = build(environment(STACKS="web", WEB_STACK="front"), composes("front")) \
        .stacks["web"].namespace
    assert namespace == "kargo-web"
    assert namespace.scope("front") == "kargo-web_front"
    assert namespace.descope(namespace.scope("front")) == "front"
    assert namespace.filters() == {"label": "com.docker.stack.namespace=kargo-web"}


def test_a_services_hooks_are_named_in_one_place():
    assert [hook_file("front", when) for when in HOOKS] == ["deploy/front_before.sh",
                                                             "deploy/front_after.sh"]
    assert is_hook("deploy/front_after.sh") and not is_hook("deploy/front.yml")
    assert not is_hook("scripts/front_after.sh")
