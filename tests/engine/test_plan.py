"""`doit plan` and `doit graph` on the real Swarm: why each task would run,
in names never values, and nothing touched while asking."""
import html
import shutil
import subprocess

import pytest

from stack_fixtures import stackenv  # noqa: F401
from support import write

WOULD_RUN = 4


def plan(env, *args):
    proc = env.run("plan", *args, check=False)
    assert proc.returncode in (0, WOULD_RUN), proc.stderr
    return proc


def test_plan_says_why_and_touches_nothing(stackenv):
    env = stackenv
    first = plan(env)
    assert first.returncode == WOULD_RUN
    assert f"deploy\n    {env.a}: never deployed by kargo\n    {env.b}: never" in first.stdout
    assert not env.services()  # asking deployed nothing
    env.run("deploy")
    settled = plan(env)
    assert (settled.returncode, settled.stdout) == (0, "nothing to do\n")

    # a workspace file, a variable (its value is a canary), a drift
    canary = "s3cr3t-canary-plan"
    write(env.kargo.workspace / "configs/web/web.conf", "level = 9\n")
    env.set_env(f"MOTTO={canary}\n")
    web = env.service(env.a, "web")
    subprocess.run(["docker", "service", "scale", "-d", f"{env.service(env.b, 'worker')}=3"],
                   check=True, capture_output=True)
    before = env.versions()
    out = plan(env)
    assert out.returncode == WOULD_RUN
    text = out.stdout
    assert "_configure:configs/web/web.conf\n    now made from configs/web/web.conf (workspace)" in text
    assert f"_stack:{env.a}\n    variable MOTTO changed" in text
    assert f"service {env.service(env.b, 'worker')} was changed outside kargo" in text
    assert canary not in text + out.stderr
    assert env.versions() == before  # still nothing touched
    assert web in before


def test_plan_after_each_stack_was_deployed_alone_says_nothing_would_be_sent(stackenv):
    # `deploy` keeps its own doit record apart from `deploy:<stack>`'s, so it
    # is stale here; what it would send is nothing, and plan must say so (it
    # once showed every service using a config as "changed", with no field:
    # it resolved into its scratch folder and the label held the path)
    env = stackenv
    env.run(f"deploy:{env.a}")
    env.run(f"deploy:{env.b}")
    out = plan(env)
    assert f"{env.a}: no service would be sent or removed" in out.stdout
    assert f"{env.b}: no service would be sent or removed" in out.stdout
    assert "(changed)" not in out.stdout and "no field shown" not in out.stdout
    before = env.versions()
    assert ".  deploy" in env.run("deploy").stdout
    assert env.versions() == before  # and indeed nothing was sent


def test_graph_highlights_the_stale_tasks(stackenv):
    env = stackenv
    env.run("deploy")
    write(env.kargo.workspace / "configs/web/web.conf", "level = 7\n")
    out = env.run("graph").stdout
    dot = (env.kargo.merged / "graph.dot").read_text()
    stale, fresh = 'style=filled fillcolor="#f4a582"', 'style=filled fillcolor="#d1e5f0"'
    assert f'"deploy" [{stale}]' in dot
    assert f'"_configure:configs/web/web.conf" [{stale}]' in dot
    assert f'"_stack:{env.a}" [{stale}]' in dot
    assert f'"_stack:{env.b}" [{fresh}]' in dot  # B does not use the file
    assert f'"_stack:{env.a}" -> "deploy"' in dot
    assert shutil.which("dot"), "graphviz is installed by .ci/run"
    svg = html.unescape((env.kargo.merged / "graph.svg").read_text())
    assert str(env.kargo.merged / "graph.svg") in out
    assert "<svg" in svg and "deploy" in svg and "#f4a582" in svg
