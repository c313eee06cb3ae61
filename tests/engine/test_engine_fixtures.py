"""Prove the engine fixtures work against the real daemon and registry."""
import json
import time
import urllib.request

import docker
import pytest

pytestmark = pytest.mark.engine


def test_busybox_image_runs(docker_client, busybox_image):
    out = docker_client.containers.run(busybox_image, ["echo", "hi"], remove=True)
    assert out == b"hi\n"


def test_busybox_image_is_in_registry(registry, busybox_image):
    url = f"http://{registry}/v2/kargo-test/busybox/tags/list"
    with urllib.request.urlopen(url, timeout=5) as resp:
        tags = json.load(resp)["tags"]
    assert "latest" in tags


def _network_names(client, name):
    # names= is a substring filter on the daemon side: compare exactly.
    return [n.name for n in client.networks.list(names=[name]) if n.name == name]


def test_overlay_network_create_remove(docker_client, unique_name):
    net = docker_client.networks.create(unique_name, driver="overlay", attachable=True)
    try:
        assert _network_names(docker_client, unique_name) == [unique_name]
        # read again: dockerd 20.10 may answer the inspect that follows the
        # create with an empty Driver (seen once in 30 creates on an idle engine)
        net.reload()
        assert net.attrs["Driver"] == "overlay"
    finally:
        net.remove()
    assert _network_names(docker_client, unique_name) == []


@pytest.mark.slow
def test_dnsrr_service_gets_running_task(docker_client, busybox_image, unique_name):
    # dnsrr: this kernel has no IPVS, so VIP endpoints cannot be used.
    service = docker_client.services.create(
        busybox_image,
        ["sleep", "3600"],
        name=unique_name,
        endpoint_spec=docker.types.EndpointSpec(mode="dnsrr"),
        # sleep is PID 1 and ignores SIGTERM: do not wait the default 10 s.
        stop_grace_period=10**9,
    )
    try:
        deadline = time.monotonic() + 60
        states = []
        while time.monotonic() < deadline:
            states = [t["Status"]["State"] for t in service.tasks()]
            if states.count("running") == 1:
                break
            time.sleep(1)
        assert states.count("running") == 1, f"task states after 60 s: {states}"
    finally:
        service.remove()
    with pytest.raises(docker.errors.NotFound):
        docker_client.services.get(unique_name)
    # Swarm stops the task containers asynchronously; wait so none leak.
    label = {"label": f"com.docker.swarm.service.name={unique_name}"}
    deadline = time.monotonic() + 30
    while docker_client.containers.list(all=True, sparse=True, filters=label):
        assert time.monotonic() < deadline, "service containers still present"
        time.sleep(0.5)


def test_the_event_recorder_keeps_a_change_the_engine_buffer_lost(docker_client, unique_name):
    """event_recorder: a change made between two marks is recorded, though
    300 later events pushed it out of the 256 dockerd keeps for `--since`."""
    from event_recorder import recorder
    events = recorder(docker_client)
    since = events.mark()
    kept = docker_client.api.create_config(f"{unique_name}-kept", b"kept")
    try:
        for n in range(150):  # a create and a remove event each
            config = docker_client.api.create_config(f"{unique_name}-churn-{n}", b"x")
            docker_client.api.remove_config(config["ID"])
        until = events.mark()
        names = [e["Actor"]["Attributes"]["name"] for e in events.between(since, until)]
        # (the tests running beside make events too: only ours are counted)
        ours = [name for name in names if name.startswith(unique_name)]
        assert ours[0] == f"{unique_name}-kept" and len(ours) == 301
        # what dockerd's own buffer answers for the same window: not the change
        asked = docker_client.api.events(since=f"{since / 1e9:.9f}", until=f"{until / 1e9:.9f}",
                                         decode=True, filters={"type": "config"})
        assert f"{unique_name}-kept" not in [e["Actor"]["Attributes"]["name"] for e in asked]
    finally:
        docker_client.api.remove_config(kept["ID"])
