"""delta.py: which services a deploy sends, and the file it sends them in."""
from kargo_tasks.compose.resolve import SPEC_LABEL
from kargo_tasks.deploy.delta import spec_digest, subset, summary, to_send
from kargo_tasks.workspace.namespace import Namespace

P = Namespace.of("kano")
DIGEST = "sha256:" + "a" * 64
NEW_DIGEST = "sha256:" + "b" * 64


def spec(label, image="reg:5000/web:1", **extra):
    return {"image": image, "deploy": {"labels": {SPEC_LABEL: label}}, **extra}


def service(name, label, version=7, image=f"reg:5000/web:1@{DIGEST}", sid=None):
    return {"ID": sid or f"id-{name}", "Version": {"Index": version},
            "Spec": {"Name": f"{P}_{name}", "Labels": {SPEC_LABEL: label},
                     "TaskTemplate": {"ContainerSpec": {"Image": image}}}}


def deployed(*services):
    return {s["Spec"]["Name"]: s for s in services}


def record(*services):
    return {s["Spec"]["Name"]: [s["ID"], s["Version"]["Index"]] for s in services}


def test_nothing_changed_sends_nothing():
    web, db = service("web", "l1"), service("db", "l2")
    doc = {"services": {"web": spec("l1"), "db": spec("l2")}}
    assert to_send(doc, P, deployed(web, db), record(web, db), {"reg:5000/web:1": DIGEST}) == ({}, [])


def test_only_the_changed_service_is_sent():
    web, db = service("web", "l1"), service("db", "l2")
    doc = {"services": {"web": spec("l1-new"), "db": spec("l2")}}
    assert to_send(doc, P, deployed(web, db), record(web, db), {}) == ({"web": "changed"}, [])


def test_new_and_removed_services():
    web, old = service("web", "l1"), service("old", "l9")
    doc = {"services": {"web": spec("l1"), "api": spec("l3")}}
    send, remove = to_send(doc, P, deployed(web, old), record(web, old), {})
    assert send == {"api": "new"} and remove == [f"{P}_old"]


def test_a_service_changed_outside_kargo_is_sent_again():
    web = service("web", "l1", version=9)
    doc = {"services": {"web": spec("l1")}}
    saved = {f"{P}_web": ["id-web", 7]}
    assert to_send(doc, P, deployed(web), saved, {}) == ({"web": "changed outside kargo"}, [])
    # a record that does not name the service: the same
    assert to_send(doc, P, deployed(web), {}, {}) == ({"web": "changed outside kargo"}, [])
    # no record at all (lost): the label and the image decide
    assert to_send(doc, P, deployed(web), None, {}) == ({}, [])
    assert to_send({"services": {"web": spec("l2")}}, P, deployed(web), None, {}) == (
        {"web": "changed"}, [])
    # re-created with another id
    other = service("web", "l1", sid="id-2")
    assert to_send(doc, P, deployed(other), record(web), {})[0] == {"web": "changed outside kargo"}


def test_a_service_as_a_failed_deploy_left_it_is_not_changed_outside_kargo():
    """The record is of the last deploy that converged; one that failed since
    left its services' spec digests (stacks.note_unconverged)."""
    web = service("web", "l1", version=9)
    doc = {"services": {"web": spec("l1")}}
    saved = {f"{P}_web": ["id-web", 7]}
    left = {f"{P}_web": spec_digest(web["Spec"])}
    assert to_send(doc, P, deployed(web), saved, {}, left) == (
        {"web": "sent by a deploy that failed"}, [])
    # the engine's own update of its status since bumps the version, not the spec
    later = dict(web, Version={"Index": 12})
    assert to_send(doc, P, deployed(later), saved, {}, left)[0] == {
        "web": "sent by a deploy that failed"}
    # changed since the failed deploy: outside kargo
    changed = service("web", "l1", version=13, image="reg:5000/web:2")
    assert to_send(doc, P, deployed(changed), saved, {}, left)[0] == {
        "web": "changed outside kargo"}
    # as the record has it: nothing to send, whatever a failed deploy left
    assert to_send(doc, P, deployed(service("web", "l1")), saved, {"reg:5000/web:1": DIGEST},
                   left) == ({}, [])


def test_a_spec_digest_is_of_the_whole_spec_in_any_key_order():
    a = {"Name": "x", "Labels": {"a": "1", "b": "2"}}
    b = {"Labels": {"b": "2", "a": "1"}, "Name": "x"}
    assert spec_digest(a) == spec_digest(b)
    assert spec_digest(a) != spec_digest({**a, "Labels": {"a": "1", "b": "3"}})


def test_a_rebuilt_image_sends_the_services_running_it_only():
    web = service("web", "l1")
    db = service("db", "l2", image=f"reg:5000/db:1@{DIGEST}")
    doc = {"services": {"web": spec("l1"), "db": spec("l2", image="reg:5000/db:1")}}
    digests = {"reg:5000/web:1": NEW_DIGEST, "reg:5000/db:1": DIGEST}
    assert to_send(doc, P, deployed(web, db), record(web, db), digests) == (
        {"web": "image replaced"}, [])
    # a registry that cannot say (None) to_send nothing
    digests = {"reg:5000/web:1": None, "reg:5000/db:1": None}
    assert to_send(doc, P, deployed(web, db), record(web, db), digests) == ({}, [])


def test_subset_keeps_what_the_sent_services_use_and_marks_existing_configs_external():
    doc = {
        "version": "3.8",
        "services": {
            "web": spec("l1", configs=[{"source": "conf", "target": "/etc/web.conf"}],
                        secrets=["pw"], networks=["back"]),
            "db": spec("l2", configs=[{"source": "dbconf", "target": "/etc/db.conf"}]),
        },
        "networks": {"back": {"external": True, "name": "kargo-back"}},
        "configs": {"conf": {"name": "kano_conf_111", "file": "/m/conf"},
                    "dbconf": {"name": "kano_dbconf_222", "file": "/m/dbconf"}},
        "secrets": {"pw": {"name": "kano_pw_333", "file": "/m/pw"}},
    }
    sent = subset(doc, ["web"], existing={"kano_conf_111", "kano_dbconf_222"})
    assert list(sent["services"]) == ["web"]
    assert sent["version"] == "3.8" and sent["networks"] == doc["networks"]
    assert sent["configs"] == {"conf": {"external": True, "name": "kano_conf_111"}}
    assert sent["secrets"] == {"pw": {"name": "kano_pw_333", "file": "/m/pw"}}  # new: created
    assert doc["configs"]["conf"]["file"] == "/m/conf"  # the resolved document is untouched
    assert "secrets" not in subset(doc, ["db"], existing=set())


def test_summary_names_every_service_and_why():
    assert summary({"web": "changed", "api": "new"}, [f"{P}_old"], P) == \
        "web (changed), api (new), old (removed)"
    assert summary({}, [], P) == "no service changed"
