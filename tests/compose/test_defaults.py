"""The default catalog: every stack of defaults/ resolves with the defaults
alone, the docker CLI accepts each stack file, and the services keep the bash
Kargo's names (a Kargo workspace listing them finds their compose files)."""
import pytest

from kargo_tasks.compose import resolve as compose
from kargo_tasks.workspace import catalog, environment, merge, layout as workspace
from compose_support import BASE_ENV, docker

LAYOUT = workspace.layout()
ENV = environment.load([LAYOUT.defaults / ".env.default"], dict(BASE_ENV))
PLAN = merge.overlay(merge.layers(LAYOUT, None))
CATALOG = catalog.build(ENV, PLAN)


@pytest.mark.parametrize("stack", CATALOG.stacks.values(), ids=lambda s: s.name)
def test_each_default_stack_resolves_and_docker_accepts_it(stack, tmp_path):
    resolved = compose.resolve(stack, LAYOUT.defaults, ENV)
    assert resolved.warnings == []
    path = tmp_path / f"{stack.name}.yml"
    path.write_text(resolved.text, encoding="utf-8")
    docker(["stack", "config", "-c", str(path)])


@pytest.mark.parametrize("service", [
    "weacast", "arpege-world-loader", "arpege-europe-loader", "arome-france-loader",
    "arome-france-high-loader", "gfs-world-loader", "mongodb", "redis", "kano", "k2",
    "maputnik", "mapserver", "tileservergl", "thredds", "hyrax-bes", "hyrax-olfs", "teleray",
    "openaq"])
def test_the_bash_kargo_service_names(service):
    assert catalog.compose_file(service) in PLAN
    assert any(service in stack.services for stack in CATALOG.stacks.values())
