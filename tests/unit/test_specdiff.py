"""specdiff.changes: a resolved service against the engine's spec, in lines
that name what changes and never show a value of the environment or of a
secret."""
import pytest

from kargo_tasks.compose import dockeryaml
from kargo_tasks.deploy.specdiff import field_changes, engine_text
from kargo_tasks.workspace.masking import LABEL

CANARY = "s3cr3t-canary"


def running(**over):
    spec = {"Mode": {"Replicated": {"Replicas": 1}},
            "TaskTemplate": {"ContainerSpec": {
                "Image": "reg/app:1@sha256:" + "0" * 64,
                "Env": ["KEEP=1", f"TOKEN={CANARY}", "GONE=x", "BARE"],
                "Configs": [{"File": {"Name": "/etc/app.conf"}, "ConfigName": "p_app_conf_aaa"}],
                "Secrets": [{"File": {"Name": "token"}, "SecretName": "p_token_aaa"}]},
                "Placement": {"Constraints": ["node.role==manager"]}},
            "EndpointSpec": {"Ports": [{"PublishedPort": 8080, "TargetPort": 80,
                                        "Protocol": "tcp", "PublishMode": "ingress"}]}}
    spec.update(over)
    return spec


def wanted(tmp_path, conf="a = 1\nb = 2\n"):
    path = tmp_path / "app.conf"
    path.write_text(conf)
    doc = {"configs": {"app_conf": {"file": str(path), "name": "p_app_conf_bbb",
                                    "labels": {LABEL: "none"}}},
           "secrets": {"token": {"file": "/x", "name": "p_token_bbb"}}}
    spec = {"image": "reg/app:2", "deploy": {"replicas": 3, "placement": {
                "constraints": ["node.labels.db==yes"]}},
            "ports": [{"target": 80, "published": 8080, "protocol": "tcp", "mode": "ingress"},
                      {"target": 81, "published": 8081, "protocol": "tcp", "mode": "host"}],
            "environment": {"KEEP": "1", "TOKEN": f"{CANARY}-2", "NEW": "n", "BARE": None},
            "configs": [{"source": "app_conf", "target": "/etc/app.conf"}],
            "secrets": [{"source": "token", "target": "token"}]}
    return spec, doc


def test_each_field_is_one_line_and_no_value_is_shown(tmp_path):
    spec, doc = wanted(tmp_path)
    lines = field_changes(spec, running(), doc, {"p_app_conf_aaa": ("a = 1\nb = 1\n", "none")}.get)
    assert lines == [
        "image reg/app:1 -> reg/app:2",
        "replicas 1 -> 3",
        "constraint added: node.labels.db==yes",
        "constraint removed: node.role==manager",
        "port added: 8081:81/tcp (host)",
        "environment NEW added",
        "environment GONE removed",
        "environment TOKEN changed",
        "config /etc/app.conf changed:",
        "  --- running", "  +++ new", "  @@ -1,2 +1,2 @@", "   a = 1", "  -b = 1", "  +b = 2",
        "secret token changed",
    ]
    assert not any(CANARY in line for line in lines)


def test_nothing_changed_says_nothing(tmp_path):
    spec = {"image": "reg/app:1", "deploy": {"replicas": 1, "placement": {
        "constraints": ["node.role==manager"]}},
        "ports": [{"target": 80, "published": 8080, "protocol": "tcp", "mode": "ingress"}],
        "environment": {"KEEP": "1", "TOKEN": CANARY, "GONE": "x", "BARE": None},
        "configs": [{"source": "app_conf", "target": "/etc/app.conf"}],
        "secrets": [{"source": "token", "target": "token"}]}
    doc = {"configs": {"app_conf": {"file": "/x", "name": "p_app_conf_aaa"}},
           "secrets": {"token": {"file": "/x", "name": "p_token_aaa"}}}
    assert field_changes(spec, running(), doc, lambda name: None) == []


def test_a_stack_files_escaped_dollar_is_one_dollar(tmp_path):
    spec = {"environment": {"PRICE": "$$5"}}
    live = running()
    live["TaskTemplate"]["ContainerSpec"]["Env"] = ["PRICE=$5"]
    assert [line for line in field_changes(spec, live, {}, lambda n: None)
            if "PRICE" in line] == []


def test_a_config_version_the_engine_holds_is_read_from_it(tmp_path):
    # a rollback: the earlier version is on the engine, its file has moved on
    spec, doc = wanted(tmp_path, conf="file = moved on\n")
    texts = {"p_app_conf_aaa": ("a = 2\n", "none"), "p_app_conf_bbb": ("a = 1\n", "none")}
    lines = field_changes(spec, running(), doc, texts.get)
    at = lines.index("config /etc/app.conf changed:")
    assert lines[at + 1:at + 6] == ["  --- running", "  +++ new", "  @@ -1 +1 @@",
                                    "  -a = 2", "  +a = 1"]


# What the engine held after `docker stack deploy` (CLI 28) of a compose file
# with each value in its environment mapping (`docker service inspect`, Env,
# 2026-12-02): Go's fmt.Sprint of what go-yaml read (test_rollback.py's
# RATIO, LIMIT, HUGE prove plan against a real deploy). The CLI refuses
# `true` ("must be a string, number or null", as kargo does) and `.inf`,
# `.nan` ("json: unsupported value: +Inf").
ENGINE_HELD = [
    ("1.0", "1"), ("1e3", "1000"), ("0x10", "16"), ("null", None),
    ("123456789.0", "1.23456789e+08"),
    ("0.00001", "1e-05"), ("0.0001", "0.0001"), ("1e21", "1e+21"), ("0o17", "15"),
    ("017", "15"), ("2.5", "2.5"), ("1_000", "1000"), ("100000.0", "100000"),
    ("1000000.0", "1e+06"), ("-0.0", "-0"), ("12345678901234567890", "12345678901234567890"),
    ("0b101", "5"), ("2001-12-14", "2001-12-14 00:00:00 +0000 UTC"), ('""', ""),
    ("3.0e-7", "3e-07"), ("1.5e300", "1.5e+300"), ("'true'", "true"), ("'1.0'", "1.0"),
]


@pytest.mark.parametrize("written, held", ENGINE_HELD)
def test_an_environment_value_compares_as_the_engine_holds_it(written, held):
    # the value as kargo's stack file holds it, read back as a deploy reads it
    value = dockeryaml.load(f"V: {written}\n", "x")[0]["V"]
    assert engine_text(value) == held
    entry = "V" if held is None else f"V={held}"
    container = {"Image": "reg/app:1", "Env": [entry]}
    assert field_changes({"image": "reg/app:1", "environment": {"V": value}},
                   {"TaskTemplate": {"ContainerSpec": container}}, {}, {}.get) == []
