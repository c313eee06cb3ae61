"""Two platforms from one checkout of kargo on one Swarm (issue 28): staging
and production are two workspaces of one kargo root over the same platform
(the root's defaults: stacks a = web (a config and a secret) + cache, and
b = worker). Each workspace's `.env` holds only what makes it a platform of
its own: its KARGO_PREFIX and the networks named after it.

The last test is the issue's whole proof: the two platforms extend one
base workspace (KARGO_EXTENDS), all three folders of one git repository.

Proven here: the same stacks deploy side by side as `<prefix>-<stack>`;
changing, pruning, rolling back and removing one platform leaves the other's
services, configs, secrets and networks exactly as they were, and the other
stays up to date, and drift of one is seen by that one only; `use` switching back and forth deploys nothing when
nothing changed, a change to one deploys only that one; a changed
KARGO_PREFIX refuses to orphan the stacks of the old one.
"""
import base64
import subprocess

import pytest

from stack_fixtures import WEB_YML as STACK_WEB_YML
from stack_fixtures import StackEnv, sent
from support import Git, Kargo, retry, write

# stack a's web of the shared fixtures, with a secret too
WEB_YML = STACK_WEB_YML.replace("    deploy:\n", """\
    secrets:
      - source: web_token
        target: token
    deploy:
""", 1) + """\
secrets:
  web_token:
    file: ../secrets/token.txt
"""

# what makes a workspace a platform of its own on a shared Swarm
PLATFORM_ENV = """\
KARGO_PREFIX={prefix}
DOCKER_FRONT_NETWORK=${{KARGO_PREFIX}}-front
DOCKER_BACK_NETWORK=${{KARGO_PREFIX}}-back
"""


@pytest.fixture
def platforms(kargo, docker_client, busybox_image, unique_name, tmp_path):
    """{"staging": StackEnv, "production": StackEnv}: one kargo root, two
    workspaces, each run with its KARGO_WORKSPACE (`use` in a test)."""
    envs = {}
    for which in ("staging", "production"):
        k = Kargo(kargo.root, tmp_path / which)
        env = StackEnv(k, docker_client, unique_name, busybox_image,
                       platform=f"{unique_name}-{which[:4]}")
        env.front, env.back = f"{env.platform}-front", f"{env.platform}-back"
        envs[which] = env
    envs["staging"].write_defaults()  # the shared platform
    write(kargo.root / "defaults/deploy/web.yml", WEB_YML)
    write(kargo.root / "defaults/secrets/token.txt", "t0ken\n")
    for env in envs.values():
        env.set_env(PLATFORM_ENV.format(prefix=env.platform))
    yield envs
    errors = [e for env in envs.values() for e in env.cleanup()]
    assert not errors, f"cleanup failed: {errors}"


def engine_state(env):
    """Everything of `env`'s platform on the engine: its services (id,
    version, update time), its configs and secrets (ids), its networks."""
    api = env.client.api
    objects = {}
    for stack in env.stacks:
        label = {"label": f"com.docker.stack.namespace={env.project(stack)}"}
        objects[stack] = (sorted((c["Spec"]["Name"], c["ID"]) for c in api.configs(filters=label)),
                          sorted((s["Spec"]["Name"], s["ID"]) for s in api.secrets(filters=label)))
    networks = sorted((n["Name"], n["Id"]) for name in (env.front, env.back)
                      for n in api.networks(filters={"name": name}) if n["Name"] == name)
    return env.versions(), objects, networks


def assert_up_to_date(env):
    proc = env.run("deploy")
    assert (proc.stdout, proc.stderr) == ("", ""), proc.stdout + proc.stderr
    plan = env.run("plan", "deploy", check=False)
    assert (plan.returncode, plan.stdout) == (0, "nothing to do\n"), plan.stdout


def test_two_platforms_side_by_side_never_touch_each_other(platforms):
    stg, prod = platforms["staging"], platforms["production"]
    for env in (stg, prod):
        env.run("deploy")
    for env in (stg, prod):
        assert sorted(env.services()) == sorted(
            [env.service(env.a, "web"), env.service(env.a, "cache"), env.service(env.b, "worker")])
        versions, objects, networks = engine_state(env)
        configs, secrets = objects[env.a]
        assert len(configs) == 1 and len(secrets) == 1
        assert [name for name, _id in networks] == [env.back]  # front: no stack uses it
        assert configs[0][0].startswith(f"{env.project(env.a)}_")
    assert not set(stg.services()) & set(prod.services())
    for env in (stg, prod):
        assert_up_to_date(env)
    production = engine_state(prod)

    # staging changes its config three times: each deploy sends web, the
    # third prunes staging's oldest config version
    first = engine_state(stg)[1][stg.a][0]
    for level in (2, 3, 4):
        write(stg.kargo.workspace / "configs/web/web.conf", f"level = {level}\n")
        assert sent(stg.run("deploy")) == [stg.a]
    configs = engine_state(stg)[1][stg.a][0]
    assert len(configs) == 2 and first[0] not in configs  # pruned: only staging's
    assert engine_state(prod) == production
    assert_up_to_date(prod)

    # a rollback of staging, then staging's own workspace again
    back = stg.run(f"rollback:{stg.a}")
    assert f"rollback {stg.a}: done" in back.stdout
    assert engine_state(prod) == production
    assert sent(stg.run("deploy")) == [stg.a]
    assert_up_to_date(stg)

    # drift: production's web changed behind kargo's back is production's
    # business: staging's deploy sees nothing, production's puts it back
    subprocess.run(["docker", "service", "update", "--detach", "--env-add", "DRIFT=1",
                    prod.service(prod.a, "web")], check=True, capture_output=True)
    assert_up_to_date(stg)
    assert sent(prod.run("deploy")) == [prod.a]
    assert_up_to_date(prod)
    production = engine_state(prod)

    # staging is removed: production keeps all it had, and stays up to date
    stg.run("remove")
    for stack in stg.stacks:
        assert retry(lambda stack=stack: _gone(stg, stack), timeout=60) is None
    assert stg.services() == {}
    assert engine_state(prod) == production
    assert_up_to_date(prod)


def _gone(env, stack):
    assert env.stack_gone(stack)
    assert not env.configs(stack)


def test_use_switches_platforms_and_an_unchanged_one_deploys_nothing(platforms):
    stg, prod = platforms["staging"], platforms["production"]
    k = stg.kargo  # one checkout: the root's `.workspace` says which platform a run is on
    k.env.pop("KARGO_WORKSPACE")

    def use(env):
        k.run("use", "--workspace", str(env.kargo.workspace))

    use(stg)
    assert sent(k.run("deploy")) == [stg.a, stg.b]
    use(prod)
    assert sent(k.run("deploy")) == [prod.a, prod.b]
    before = {env.platform: engine_state(env) for env in (stg, prod)}
    since = stg.now()
    for env in (stg, prod, stg, prod):
        use(env)
        proc = k.run("deploy")
        assert (proc.stdout, proc.stderr) == ("", ""), proc.stdout + proc.stderr
        plan = k.run("plan", check=False)
        assert (plan.returncode, plan.stdout) == (0, "nothing to do\n"), plan.stdout
    assert {env.platform: engine_state(env) for env in (stg, prod)} == before
    assert stg.service_events(since) == [] and prod.service_events(since) == []

    # a change to production reaches production only
    write(prod.kargo.workspace / "configs/web/web.conf", "level = 7\n")
    assert sent(k.run("deploy")) == [prod.a]
    use(stg)
    assert k.run("deploy").stdout == ""
    assert engine_state(stg) == before[stg.platform]


def test_a_changed_prefix_does_not_orphan_the_stacks_of_the_old_one(platforms, unique_name):
    stg = platforms["staging"]
    stg.run("deploy")
    old = engine_state(stg)
    moved = StackEnv(stg.kargo, stg.client, stg.name, stg.image, platform=f"{unique_name}-new")
    moved.front, moved.back = f"{moved.platform}-front", f"{moved.platform}-back"
    platforms["moved"] = moved  # cleaned up with the others
    write(stg.kargo.workspace / ".env", PLATFORM_ENV.format(prefix=moved.platform))
    proc = stg.run("deploy", check=False)
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines == [
        f"kargo: deploy: {stg.kargo.workspace / '.env'}:1: stack {stg.a} still runs as "
        f"{stg.project(stg.a)}, deployed with KARGO_PREFIX={stg.platform}: nothing was deployed; "
        f"remove it first (`KARGO_PREFIX={stg.platform} doit remove:{stg.a}`) or set "
        f"KARGO_PREFIX back to {stg.platform}"], proc.stderr
    assert engine_state(stg) == old and moved.services() == {}
    # the operator removes the old platform's stacks, then deploys the new one
    stg.run("remove", env={"KARGO_PREFIX": stg.platform})
    assert stg.services() == {}
    assert sent(stg.run("deploy")) == [stg.a, stg.b]
    assert sorted(moved.services()) == sorted(
        [moved.service(moved.a, "web"), moved.service(moved.a, "cache"),
         moved.service(moved.b, "worker")])
    assert_up_to_date(stg)


SYNCED = 5  # base/exits.EXIT_SYNCED


def test_sync_of_a_repository_of_two_platforms_deploys_the_one_in_use(platforms, tmp_path):
    """staging/ and production/ are folders of one git repository: a sync
    pulls the repository whole and deploys only the workspace in use."""
    stg, prod = platforms["staging"], platforms["production"]
    git = Git(tmp_path / "home")
    repo, other = git.upstream(tmp_path / "git", "# two platforms, one repository\n")
    for which, env in (("staging", stg), ("production", prod)):
        git.push(other, f"{which}/.env", PLATFORM_ENV.format(prefix=env.platform), which)
    git(repo, "pull", "-q")
    for which, env in (("staging", stg), ("production", prod)):
        env.kargo.env.update(HOME=git.env["HOME"], KARGO_WORKSPACE=str(repo / which))
        env.kargo.workspace = repo / which
    for env in (stg, prod):
        first = env.run("sync", check=False)
        assert (first.returncode, sent(first)) == (SYNCED, [env.a, env.b]), first.stderr
    staging = engine_state(stg)

    git.push(other, "production/configs/web/web.conf", "level = 9\n", "production at level 9")
    proc = stg.run("sync", check=False)
    assert proc.returncode == SYNCED, proc.stderr  # pulled, for both: deployed, nothing
    assert "  A\tproduction/configs/web/web.conf\n" in proc.stdout and sent(proc) == []
    assert engine_state(stg) == staging
    proc = prod.run("sync", check=False)  # up to date with upstream; its change deploys
    assert "the workspace is up to date" not in proc.stdout
    assert (proc.returncode, sent(proc)) == (SYNCED, [prod.a]), proc.stdout + proc.stderr
    assert stg.run("sync", check=False).returncode == 0
    assert engine_state(stg) == staging


def test_a_base_shared_by_two_platforms_in_one_repository(kargo, docker_client, busybox_image,
                                                          unique_name, tmp_path):
    """Issue 28's proof: base/, staging/ and production/ are folders of one
    git repository, each platform a workspace that extends ../base, on one
    Swarm under two prefixes, one checkout of kargo switching with `use`. A
    change to the base (pulled by `sync`) reaches both platforms and only
    the stack that reads it; a change to production reaches production only;
    switching with nothing changed deploys nothing."""
    git = Git(tmp_path / "home")
    repo, other = git.upstream(tmp_path / "git", "# base, staging, production\n")
    envs = {}
    for which in ("staging", "production"):
        k = Kargo(kargo.root, repo / which)
        k.env.update(HOME=git.env["HOME"])
        env = StackEnv(k, docker_client, unique_name, busybox_image,
                       platform=f"{unique_name}-{which[:4]}")
        env.front, env.back = f"{env.platform}-front", f"{env.platform}-back"
        envs[which] = env
    stg, prod = envs["staging"], envs["production"]
    stg.write_defaults()  # kargo's defaults: the stacks, a config of level 1
    git.push(other, "base/.env", "GREETING=from-the-base\n", "the base")
    git.push(other, "base/configs/web/web.conf", "level = base 1\n", "the base's config")
    for which, env in envs.items():
        git.push(other, f"{which}/.env",
                 "KARGO_EXTENDS=../base\n" + PLATFORM_ENV.format(prefix=env.platform), which)
    git(repo, "pull", "-q")
    k = Kargo(kargo.root, repo)  # one checkout: its `.workspace` says the platform in use
    k.env.pop("KARGO_WORKSPACE")
    k.env.update(HOME=git.env["HOME"])

    def use(env):
        k.run("use", "--workspace", str(env.kargo.workspace))

    def web_conf(env):
        """The text of the config the web service of `env` runs with."""
        api = env.client.api
        spec = api.inspect_service(env.service(env.a, "web"))["Spec"]["TaskTemplate"]
        [ref] = spec["ContainerSpec"]["Configs"]
        return base64.b64decode(api.inspect_config(ref["ConfigID"])["Spec"]["Data"]).decode()

    try:
        for env in (stg, prod):
            use(env)
            assert sent(k.run("deploy")) == [env.a, env.b]
            assert web_conf(env) == "level = base 1\n"
            greeting = env.inspect(env.service(env.a, "web"))["Spec"]["TaskTemplate"][
                "ContainerSpec"]["Env"]
            assert "GREETING=from-the-base" in greeting
        shown = k.run("show").stdout
        assert f"extends: {repo / 'base'}" in shown, shown

        # switching back and forth with nothing changed deploys nothing
        before = {env.platform: engine_state(env) for env in (stg, prod)}
        since = stg.now()
        for env in (stg, prod, stg):
            use(env)
            proc = k.run("deploy")
            assert (proc.stdout, proc.stderr) == ("", ""), proc.stdout + proc.stderr
        assert {env.platform: engine_state(env) for env in (stg, prod)} == before
        assert stg.service_events(since) == [] and prod.service_events(since) == []

        # a change to the base, pulled by staging's sync, reaches both
        git.push(other, "base/configs/web/web.conf", "level = base 2\n", "the base moves")
        proc = k.run("sync", check=False)  # staging in use
        assert (proc.returncode, sent(proc)) == (SYNCED, [stg.a]), proc.stdout + proc.stderr
        use(prod)
        proc = k.run("sync", check=False)  # nothing more to pull: the base change deploys
        assert (proc.returncode, sent(proc)) == (SYNCED, [prod.a]), proc.stdout + proc.stderr
        assert web_conf(stg) == web_conf(prod) == "level = base 2\n"
        for env in (stg, prod):
            assert engine_state(env)[0][env.service(env.b, "worker")] == \
                before[env.platform][0][env.service(env.b, "worker")]

        # a change to production reaches production only
        git.push(other, "production/configs/web/web.conf", "level = production\n", "prod only")
        staging = engine_state(stg)
        proc = k.run("sync", check=False)  # production in use
        assert (proc.returncode, sent(proc)) == (SYNCED, [prod.a]), proc.stdout + proc.stderr
        assert web_conf(prod) == "level = production\n"
        use(stg)
        proc = k.run("deploy")
        assert (proc.stdout, proc.stderr) == ("", ""), proc.stdout + proc.stderr
        assert engine_state(stg) == staging and web_conf(stg) == "level = base 2\n"
    finally:
        errors = [e for env in (stg, prod) for e in env.cleanup()]
        assert not errors, f"cleanup failed: {errors}"
