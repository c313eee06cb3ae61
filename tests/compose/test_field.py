"""Real stack files from the field (issue 24, section 4): each resolves by
kargo to what `docker stack config` gives the same file and environment,
field by field. Each was resolved otherwise before: the stack file kargo
wrote declared the file's old version but held `name:` on configs (3.5) or
long-syntax volumes (3.2), a `$` in a default was refused, a bind source
lost its trailing slash. The config files they read are stood in for by
placeholders (kargo reads them; their content is not compared)."""
import re
import shutil
from pathlib import Path

import pytest

from kargo_tasks.compose import dockeryaml
from compose_support import Refused, both_ways

FIELD = Path(__file__).resolve().parent / "field"
# (file here, source repository, commit, path there)
SOURCES = [
    ("openfaas-docker-compose.yml", "openfaas/faas", "802461dd025a8cec4784a2e40c7f4d0db501a2c3",
     "docker-compose.yml"),
    ("swarmprom-docker-compose.yml", "stefanprodan/swarmprom",
     "28957ff51aea9d69fab079783096555fe9bc44b4", "docker-compose.yml"),
    ("dogvscat-stack-elk.yml", "BretFisher/dogvscat", "fc16b7359b2e06002b0dc8d67ce8115fbe30a4f5",
     "stack-elk.yml"),
    ("dogvscat-stack-elk.override.yml", "BretFisher/dogvscat",
     "fc16b7359b2e06002b0dc8d67ce8115fbe30a4f5", "stack-elk.override.yml"),
    ("dogvscat-stack-swarmprom.yml", "BretFisher/dogvscat",
     "fc16b7359b2e06002b0dc8d67ce8115fbe30a4f5", "stack-swarmprom.yml"),
    ("dockerswarm-rocks-swarmprom.yml", "tiangolo/dockerswarm.rocks",
     "cfb7646e1a632da17ff95688ccc276a6517cbb1e", "docs/swarmprom.yml"),
]
REFERENCE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)(:?-)?")


def environment_for(text):
    """A value for each variable the file reads without a default (kargo
    refuses an undefined one, by design); those with a default stay unset."""
    names = {}
    for name, default in REFERENCE.findall(text):
        names[name] = names.get(name, False) or not default
    return {name: f"{name.lower()}-value" for name, bare in names.items() if bare}


@pytest.mark.parametrize("name, repo, commit, path", SOURCES, ids=[s[0] for s in SOURCES])
def test_a_field_file_resolves_as_docker_reads_it(name, repo, commit, path, tmp_path):
    text = (FIELD / name).read_text(encoding="utf-8")
    doc, _ = dockeryaml.load(text, name)
    for kind in ("configs", "secrets"):
        for item in (doc.get(kind) or {}).values():
            if isinstance(item, dict) and "file" in item:
                placeholder = tmp_path / "deploy" / item["file"]
                placeholder.parent.mkdir(parents=True, exist_ok=True)
                placeholder.write_text(f"placeholder for {repo}'s {item['file']}\n")
    kargo, cli = both_ways(tmp_path, text, environment_for(text), name=Path(name).stem)
    assert not isinstance(cli, Refused), cli
    assert kargo == cli


def test_every_field_file_is_listed():
    assert sorted(s[0] for s in SOURCES) == sorted(p.name for p in FIELD.glob("*.yml"))
