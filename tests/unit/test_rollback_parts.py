"""The pure parts of a rollback: which images are pinned to the digests a
version ran, which configs and secrets it needs that the engine lost, and
the versions history.py keeps."""
from types import SimpleNamespace

import pytest

from kargo_tasks.base.errors import KargoError
from kargo_tasks.deploy import history
from kargo_tasks.deploy.rollback import _timeout, missing, pin
from kargo_tasks.deploy.stacks import Resolved
from kargo_tasks.workspace.catalog import Stack
from kargo_tasks.workspace.namespace import Namespace

D1, D2 = "sha256:" + "1" * 64, "sha256:" + "2" * 64


def test_an_image_is_pinned_only_when_its_tag_moved():
    doc = {"services": {"same": {"image": "r/a:1"}, "moved": {"image": "r/b:1"},
                        "unknown": {"image": "r/c:1"}, "local": {"image": "c:1"}}}
    images = {"same": f"r/a:1@{D1}", "moved": f"r/b:1@{D1}", "unknown": f"r/c:1@{D1}",
              "local": "c:1"}
    digests = pin(doc, images, {"r/a:1": D1, "r/b:1": D2, "r/c:1": None, "c:1": None})
    assert [doc["services"][n]["image"] for n in ("same", "moved", "unknown", "local")] == [
        "r/a:1", f"r/b:1@{D1}", f"r/c:1@{D1}", "c:1"]
    assert digests == {"r/a:1": D1, f"r/b:1@{D1}": D1, f"r/c:1@{D1}": D1}


def test_missing_names_what_the_sent_services_need_and_the_engine_lost():
    doc = {"services": {"app": {"configs": [{"source": "conf", "target": "/c"}],
                                "secrets": ["token", "outside"]},
                        "other": {"configs": ["gone_too"]}},
           "configs": {"conf": {"file": "x", "name": "p_conf_aaa"},
                       "gone_too": {"file": "y", "name": "p_gone_bbb"}},
           "secrets": {"token": {"file": "t", "name": "p_token_ccc"},
                       "outside": {"external": True, "name": "shared"}}}
    assert missing(doc, ["app"], {"p_conf_aaa", "p_token_ccc"}) == []
    assert missing(doc, ["app"], {"p_conf_aaa"}) == ["secret p_token_ccc"]
    assert missing(doc, ["app", "other"], set()) == [
        "config p_conf_aaa", "config p_gone_bbb", "secret p_token_ccc"]


def _version(text, names):
    doc = {"configs": {n: {"file": "f", "name": n} for n in names}}
    services = {"kargo-s_app": {"Spec": {"TaskTemplate": {"ContainerSpec": {
        "Image": f"r/a:1@{D1}"}}}}}
    return history.version(Resolved(doc, "d", text), Namespace.of("s"), services)


def test_history_keeps_the_version_before_until_a_later_deploy(tmp_path):
    layout, stack = SimpleNamespace(state=tmp_path), Stack("s", (), ())
    v1, v2, v3 = _version("v1", ["c1"]), _version("v2", ["c2"]), _version("v3", ["c3"])
    assert v1["images"] == {"app": f"r/a:1@{D1}"} and v1["keep"] == ["c1"]
    history.converged(layout, stack, v1)
    assert history.read(layout, stack) == {"prefix": "kargo", "current": v1}
    history.converged(layout, stack, v2)
    history.converged(layout, stack, v2)  # the same again keeps the one before
    assert history.read(layout, stack) == {"prefix": "kargo", "current": v2, "previous": v1}
    assert history.kept_names(layout, stack) == {"c1", "c2"}
    history.rolled_back(layout, stack)
    assert history.read(layout, stack) == {"prefix": "kargo", "current": v1, "previous": v2}
    history.converged(layout, stack, v3)
    assert history.read(layout, stack) == {"prefix": "kargo", "current": v3, "previous": v1}
    assert history.kept_names(layout, stack) == {"c1", "c3"}
    assert (tmp_path / "history/s.json").stat().st_mode & 0o777 == 0o600
    # the same stack file on a rebuilt image is a version of its own
    rebuilt = dict(v3, images={"app": f"r/a:1@{D2}"})
    history.converged(layout, stack, rebuilt)
    assert history.read(layout, stack) == {"prefix": "kargo", "current": rebuilt, "previous": v3}
    assert history.kept_names(layout, stack) == {"c3"}
    history.forget(layout, stack)  # the stack was removed
    assert history.read(layout, stack) == {} and not history.kept_names(layout, stack)


def test_a_version_is_its_stack_file_and_its_images(tmp_path):
    v1 = _version("v1", ["c1"])
    assert history.same(v1, dict(v1, keep=["other"]))
    assert not history.same(v1, dict(v1, images={"app": f"r/a:1@{D2}"}))
    assert not history.same(v1, dict(v1, stack="v2"))
    layout = SimpleNamespace(state=tmp_path)
    assert history.recorded(layout) == []
    history.converged(layout, Stack("b", (), ()), v1, 40.0)
    history.converged(layout, Stack("a", (), ()), v1)
    assert history.recorded(layout) == ["a", "b"]
    assert history.read(layout, Stack("b", (), ()))["timeout"] == 40.0


def test_a_rollback_without_the_workspace_times_out_as_the_last_deploy(tmp_path, monkeypatch):
    layout = SimpleNamespace(state=tmp_path)
    stack = Stack("s", (), ())
    broken = SimpleNamespace(env=None, layout=layout)
    monkeypatch.delenv("KARGO_DEPLOY_TIMEOUT", raising=False)
    assert _timeout(broken, stack, {}) == 300  # nothing recorded: the default
    assert _timeout(broken, stack, {"timeout": 40.0}) == 40
    monkeypatch.setenv("KARGO_DEPLOY_TIMEOUT", "12")  # the shell wins, as for every variable
    assert _timeout(broken, stack, {"timeout": 40.0}) == 12
    monkeypatch.setenv("KARGO_DEPLOY_TIMEOUT", "soon")
    with pytest.raises(KargoError, match="shell: KARGO_DEPLOY_TIMEOUT must be a number"):
        _timeout(broken, stack, {"timeout": 40.0})
