"""compose.resolve's `org.kargo.spec` label: what makes delta.py send a
service. It changes with the service's definition and with the content of
the configs it uses, and with nothing else's."""
import yaml

from kargo_tasks.compose.resolve import SPEC_LABEL, resolve
from kargo_tasks.workspace import environment
from kargo_tasks.workspace.catalog import Stack

COMPOSE = """
version: "3.8"
services:
  {name}:
    image: reg:5000/{name}:1
    command: ["sleep", "${{{var}:-1}}"]
    configs:
      - source: {name}_conf
        target: /etc/{name}.conf
configs:
  {name}_conf:
    file: ../configs/{name}.conf
"""


def labels(tmp_path, env_text=""):
    merged = tmp_path / "merged"
    for name in ("web", "db"):
        (merged / "deploy").mkdir(parents=True, exist_ok=True)
        (merged / "configs").mkdir(exist_ok=True)
        (merged / "deploy" / f"{name}.yml").write_text(
            COMPOSE.format(name=name, var=f"{name.upper()}_SLEEP"))
        conf = merged / "configs" / f"{name}.conf"
        if not conf.exists():
            conf.write_text(f"{name} 1\n")
    env_file = tmp_path / "env"
    env_file.write_text(env_text)
    env = environment.load([env_file], shell={})
    doc = yaml.safe_load(resolve(Stack("app", ("web", "db"), ()), merged, env).text)
    return {name: spec["deploy"]["labels"][SPEC_LABEL] for name, spec in doc["services"].items()}


def test_label_changes_with_the_service_and_its_configs_only(tmp_path):
    first = labels(tmp_path)
    assert labels(tmp_path) == first
    changed = labels(tmp_path, "WEB_SLEEP=2\n")
    assert changed["web"] != first["web"] and changed["db"] == first["db"]
    (tmp_path / "merged/configs/db.conf").write_text("db 2\n")
    again = labels(tmp_path)
    assert again["db"] != first["db"] and again["web"] == first["web"]


def test_label_is_the_same_wherever_the_merged_configuration_lies(tmp_path):
    # `doit plan` resolves into a private scratch folder, and a moved checkout
    # has its .kargo/ elsewhere: neither is a change of what a service runs
    # (the label once held the configs' absolute paths, so plan showed every
    # service using a config as "changed" with no field to show).
    here, there = tmp_path / "here", tmp_path / "elsewhere" / "deeper"
    here.mkdir()
    there.mkdir(parents=True)
    assert labels(here) == labels(there)
