"""Every spec update kargo makes is optimistic: it names the version it read,
and when another writer updated the object in between, the engine refuses it
("update out of sequence"). kargo reads again and retries, a bounded number
of times. The other writer here is real: conflict_proxy.py updates the node
or the service on the engine just before kargo's own update reaches it."""
import pytest

from conflict_proxy import ConflictProxy
from labels_helpers import node_labels, set_node_labels
from stack_fixtures import sent, stackenv  # noqa: F401

pytestmark = pytest.mark.slow


@pytest.fixture
def conflicts():
    made = []

    def make(kind, times):
        made.append(ConflictProxy(kind, times))
        return made[-1]
    yield make
    for proxy in made:
        proxy.close()


@pytest.mark.swarm
def test_node_labels_retry_a_conflicting_writer(stackenv, conflicts):
    env, client = stackenv, stackenv.client
    node = client.nodes.list()[0]
    host = node.attrs["Description"]["Hostname"]
    key = f"kt_conflict_{env.name[3:]}"
    proxy = conflicts("nodes", 2)
    original = node_labels(client)
    try:
        env.set_env(f'{env.prefix(host)}_LABELS="{key}=yes"\n')
        proc = env.run("labels", env={"DOCKER_HOST": proxy.url})
        assert proxy.refused == 2, "the engine did not refuse kargo's first two updates"
        assert proc.stderr == ""
        labels = node_labels(client)
        assert labels[key] == "yes"
        assert labels["kt-conflict"] == "2"  # the other writer's label is kept
    finally:
        set_node_labels(client, {k: original.get(k) for k in set(node_labels(client))
                                 if k not in original or k == "kt-conflict"})


def test_a_deploy_retries_a_conflicting_writer(stackenv, conflicts):
    env = stackenv
    env.run("deploy")
    worker = env.service(env.b, "worker")
    proxy = conflicts("services", 1)
    env.set_env("WORKER_REPLICAS=3\n")
    proc = env.run("deploy", env={"DOCKER_HOST": proxy.url})
    assert proxy.refused == 1, "the engine did not refuse the CLI's first update"
    assert sent(proc) == [env.b]
    spec = env.inspect(worker)["Spec"]
    assert spec["Mode"]["Replicated"]["Replicas"] == 3
    assert "kt-conflict" not in spec["Labels"]  # kargo's spec, whole, won
    assert len(env.running(worker)) == 3
    assert env.run("deploy").stdout == ""
