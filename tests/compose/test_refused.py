"""What `docker stack deploy` refuses, kargo refuses before touching the
engine, as one line naming the file and line: each case is checked against
the docker CLI itself (`docker stack config`, offline), so a rule of kargo's
that Docker does not have fails here."""
import textwrap

import pytest

from kargo_tasks.base.errors import ConfigError
from kargo_tasks.compose import resolve as compose
from kargo_tasks.workspace import catalog, environment
from compose_support import BASE_ENV, docker

ENV = {"IMAGE": "busybox", "R": "2", "EMPTY": "", "WORD": "abc", **BASE_ENV}

# (name, the file, the line kargo names, words of kargo's message)
REFUSED = [
    ("unknown key", "services:\n  x:\n    image: a\n    imagee: b\n", 4, "imagee"),
    ("unknown top-level key", "services:\n  x:\n    image: a\nfoo: 1\n", 4, "foo"),
    ("unknown deploy key", "services:\n  x:\n    image: a\n    deploy:\n      foo: 1\n", 5, "foo"),
    ("max_replicas_per_node under deploy",
     "services:\n  x:\n    image: a\n    deploy:\n      max_replicas_per_node: 2\n", 5,
     "max_replicas_per_node"),
    ("depends_on as a map",
     "services:\n  x:\n    image: a\n    depends_on:\n      db:\n        condition: service_healthy\n",
     4, "depends_on"),
    ("replicas as a string", "services:\n  x:\n    image: a\n    deploy:\n      replicas: \"2\"\n", 5,
     "replicas"),
    ("replicas 2.5", "services:\n  x:\n    image: a\n    deploy:\n      replicas: 2.5\n", 5, "replicas"),
    ("replicas not a number after interpolation",
     "services:\n  x:\n    image: a\n    deploy:\n      replicas: ${WORD}\n", 5, "replicas"),
    ("published as a string",
     "services:\n  x:\n    image: a\n    ports:\n      - target: 80\n        published: \"8080\"\n", 6,
     "published"),
    ("config mode as a string",
     "services:\n  x:\n    image: a\n    configs:\n      - source: c\n        mode: \"0440\"\n"
     "configs:\n  c:\n    external: true\n", 6, "mode"),
    ("cpus as a number",
     "services:\n  x:\n    image: a\n    deploy:\n      resources:\n        limits:\n          cpus: 0.5\n",
     7, "cpus"),
    ("x- key under deploy", "services:\n  x:\n    image: a\n    deploy:\n      x-note: 1\n", 5, "x-note"),
    ("profiles", "services:\n  x:\n    image: a\n    profiles: [debug]\n", 4, "profiles"),
    ("platform", "services:\n  x:\n    image: a\n    platform: linux/amd64\n", 4, "platform"),
    ("extends", "services:\n  x:\n    image: a\n    extends: {service: y}\n  y:\n    image: b\n", 4,
     "extends"),
    ("mem_limit", "services:\n  x:\n    image: a\n    mem_limit: 512m\n", 4, "mem_limit"),
    ("top-level name", "name: p\nservices:\n  x:\n    image: a\n", 1, "name"),
    ("reservations devices",
     "services:\n  x:\n    image: a\n    deploy:\n      resources:\n        reservations:\n"
     "          devices: [{capabilities: [gpu]}]\n", 7, "devices"),
    ("port host_ip",
     "services:\n  x:\n    image: a\n    ports:\n      - target: 80\n        host_ip: 127.0.0.1\n", 6,
     "host_ip"),
    ("bad short port", "services:\n  x:\n    image: a\n    ports:\n      - \"8080:80:90\"\n", 5, "port"),
    ("environment boolean", "services:\n  x:\n    image: a\n    environment:\n      A: true\n", 5, "A"),
    ("version as a number", "version: 3.8\nservices:\n  x:\n    image: a\n", 1, "version"),
    ("duplicate key", "services:\n  x:\n    image: a\n    image: b\n", 4, "already defined"),
    ("a \\/ escape", "services:\n  x:\n    image: \"a\\/b\"\n", 3, "escape"),
    ("a tab indentation", "services:\n  x:\n\timage: a\n", 3, "YAML"),
    ("lone $", "services:\n  x:\n    image: a\n    labels:\n      l: \"a $ b\"\n", 5, "$$"),
    ("$ and a digit", "services:\n  x:\n    image: a\n    command: echo $1\n", 4, "$$"),
    ("unterminated ${", "services:\n  x:\n    image: a\n    labels:\n      l: \"${IMAGE\"\n", 5,
     "unterminated"),
    ("${} empty", "services:\n  x:\n    image: a\n    labels:\n      l: \"${}\"\n", 5, "bad variable"),
    ("required and unset", "services:\n  x:\n    image: \"${NOPE:?set NOPE}\"\n", 3, "set NOPE"),
    ("required and empty", "services:\n  x:\n    image: \"${EMPTY:?must not be empty}\"\n", 3,
     "must not be empty"),
]


def _resolve(tmp_path, text):
    (tmp_path / "deploy").mkdir(exist_ok=True)
    (tmp_path / "deploy/x.yml").write_text(text, encoding="utf-8")
    env = environment.load([], ENV)
    return compose.resolve(catalog.Stack("t", ("x",), ()), tmp_path, env)


@pytest.mark.parametrize("name, text, line, words", REFUSED, ids=[c[0] for c in REFUSED])
def test_refused_by_kargo_and_by_docker(name, text, line, words, tmp_path):
    with pytest.raises(ConfigError) as info:
        _resolve(tmp_path, text)
    message = str(info.value)
    assert message.startswith(f"{tmp_path}/deploy/x.yml:{line}: "), message
    assert words in message
    assert "\n" not in message
    docker_says = docker(["stack", "config", "-c", str(tmp_path / "deploy/x.yml")],
                         env=ENV, check=False)
    assert docker_says.returncode != 0, f"docker accepts it:\n{docker_says.stdout}"


ACCEPTED = [
    ("build, depends_on (ignored, with a warning) and restart",
     "services:\n  x:\n    image: a\n    build: .\n    depends_on: [y]\n    restart: always\n"),
    ("placement max_replicas_per_node",
     "version: \"3.8\"\nservices:\n  x:\n    image: a\n    deploy:\n      placement:\n"
     "        max_replicas_per_node: ${R}\n"),
    ("x- keys at the top, in a service, under build",
     "x-a: 1\nservices:\n  x:\n    image: a\n    x-b: 2\n    build:\n      context: .\n      x-c: 3\n"),
    ("a \\' escape", "services:\n  x:\n    image: \"it\\'s\"\n"),
    ("$$ and a digit", "services:\n  x:\n    image: a\n    command: echo $$1\n"),
    ("replicas from a variable", "services:\n  x:\n    image: a\n    deploy:\n      replicas: ${R}\n"),
    ("a config mode in octal",
     "services:\n  x:\n    image: a\n    configs:\n      - source: c\n        mode: 0440\n"
     "configs:\n  c:\n    external: true\n"),
]


@pytest.mark.parametrize("name, text", ACCEPTED, ids=[c[0] for c in ACCEPTED])
def test_accepted_by_kargo_and_by_docker(name, text, tmp_path):
    _resolve(tmp_path, text)
    docker(["stack", "config", "-c", str(tmp_path / "deploy/x.yml")], env=ENV)


def test_ignored_keys_are_one_warning_line_each(tmp_path):
    resolved = _resolve(tmp_path, textwrap.dedent("""\
        services:
          x:
            image: a
            build: .
            container_name: corpus-c
            depends_on: [y]
    """))
    assert resolved.warnings == [
        f"{tmp_path}/deploy/x.yml:4: services.x.build is unsupported by docker stack deploy",
        f"{tmp_path}/deploy/x.yml:5: services.x.container_name is deprecated: "
        "setting the container name is not supported",
        f"{tmp_path}/deploy/x.yml:6: services.x.depends_on is ignored by docker stack deploy "
        "(kargo orders stacks with <STACK>_DEPENDS)"]
    assert "build" not in resolved.text and "depends_on" not in resolved.text


def test_an_unbraced_name_before_a_dash_is_a_warning(tmp_path):
    # docker stack deploy reads `$IMAGE-x` as ${IMAGE-x}: the value, "-x" eaten
    resolved = _resolve(tmp_path, "services:\n  x:\n    image: $IMAGE-x\n")
    assert "image: busybox-x" in resolved.text
    assert len(resolved.warnings) == 1
    assert resolved.warnings[0].startswith(f"{tmp_path}/deploy/x.yml:3: $IMAGE-…: docker stack "
                                           "deploy reads it as ${IMAGE-…}")
