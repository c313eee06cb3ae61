"""engine.get's query strings: what docker-py would send, without docker-py."""
import json
import urllib.parse

from kargo_tasks.engine.client import _query


def test_filters_are_json_lists_and_booleans_words():
    query = urllib.parse.parse_qs(_query({"filters": {"label": "a=b", "service": ["x", "y"]},
                                          "status": True}))
    assert json.loads(query["filters"][0]) == {"label": ["a=b"], "service": ["x", "y"]}
    assert query["status"] == ["true"]


def test_no_params_no_query():
    assert _query({}) == ""


def test_only_loopback_registries_are_asked_directly():
    from kargo_tasks.engine.client import _loopback_manifest
    local = "unix:///var/run/docker.sock"
    assert _loopback_manifest("127.0.0.1:5000/kargo/mapserver:8.0.0", local) == (
        "127.0.0.1:5000", "kargo/mapserver", "8.0.0")
    assert _loopback_manifest("localhost:5000/a/b", local) == ("localhost:5000", "a/b", "latest")
    for ref in ("registry.example.com/a:1", "busybox:1", "kalisio/kano:dev",
                "127.0.0.1:5000/a@sha256:" + "0" * 64, "10.0.0.1:5000/a:1"):
        assert _loopback_manifest(ref, local) is None, ref
    # a remote engine's loopback is not this machine's: ask the engine
    assert _loopback_manifest("127.0.0.1:5000/a:1", "tcp://10.0.0.2:2376") is None
    assert _loopback_manifest("127.0.0.1:5000/a:1", "ssh://me@manager") is None
