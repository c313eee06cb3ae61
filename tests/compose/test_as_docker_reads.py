"""Files `docker stack deploy` reads one way, found where kargo read them
otherwise (issue 24): each is resolved by kargo and by the docker CLI
(`docker stack config`, offline) with the same environment, and the two
configurations must be equal field by field, or both sides refuse."""
import codecs
import time

import pytest

from kargo_tasks.base.errors import ConfigError
from kargo_tasks.compose import resolve as compose, dockeryaml
from compose_support import Refused, both_ways, docker

SAME = [
    ("a $ in a default is taken as written (dogvscat's htpasswd hash)",
     "services:\n  x:\n    image: a\n    environment:\n"
     "      P: ${KIBANA_PASSWORD:-$2y$05$Fe3ZOkbsfqNo5CgbbaUd5e}\n      Q: ${U:-$$}\n"
     "      R: ${U:-a $HOME b}\n      S: ${U:-{a}}\n      T: ${U:-$}\n", {}),
    ("a set variable's default is never read", "services:\n  x:\n    image: ${I:-$2}\n",
     {"I": "busybox"}),
    ("bind mount sources keep their path as written",
     "services:\n  x:\n    image: a\n    volumes:\n      - /var/lib/docker/:/d:ro\n"
     "      - type: bind\n        source: /var/lib/docker/\n        target: /e\n"
     "      - /a//b/../c/:/f\n      - ~/x/:/g\n      - ./rel/:/h\n", {"HOME": "/home/u"}),
    ("a re-defined anchor: the newest definition",
     "x-a: &a {A: one}\nx-b: &a {A: two}\nservices:\n  x:\n    image: a\n    environment: *a\n",
     {}),
    ("!!float on a plain number",
     "services:\n  x:\n    image: a\n    environment:\n      F: !!float 3\n      G: !!float '2'\n"
     "    deploy:\n      update_config:\n        max_failure_ratio: !!float 1\n", {}),
    ("a 3.1 file with long volumes, secrets and configs names",
     "version: \"3.1\"\nservices:\n  x:\n    image: a\n    volumes:\n      - /srv:/srv\n"
     "    ports:\n      - 8080:80\n", {}),
]


@pytest.mark.parametrize("name, text, shell", SAME, ids=[c[0] for c in SAME])
def test_kargo_reads_what_docker_reads(name, text, shell, tmp_path):
    kargo, cli = both_ways(tmp_path, text, shell)
    assert not isinstance(cli, Refused), cli
    assert kargo == cli


BOTH_REFUSE = [
    (".inf", "services:\n  x:\n    image: a\n    deploy:\n      update_config:\n"
     "        max_failure_ratio: .inf\n", 6, "unsupported value"),
    ("-.Inf in a label", "services:\n  x:\n    image: a\n    labels:\n      l: -.Inf\n", 5,
     "unsupported value"),
    (".NaN", "services:\n  x:\n    image: a\n    environment:\n      N: .NaN\n", 5,
     "unsupported value"),
    ("!!float 'error'", "services:\n  x:\n    image: a\n    environment:\n"
     "      F: !!float 'error'\n", 5, "cannot decode 'error' as a !!float"),
    ("a self-referencing alias", "x-a: &a {b: *a}\nservices:\n  x:\n    image: a\n", 1,
     "contains itself"),
]


@pytest.mark.parametrize("name, text, line, words", BOTH_REFUSE, ids=[c[0] for c in BOTH_REFUSE])
def test_both_refuse(name, text, line, words, tmp_path):
    kargo, cli = both_ways(tmp_path, text)
    assert isinstance(cli, Refused), cli
    assert isinstance(kargo, Refused), kargo
    message = str(kargo)
    assert f"{tmp_path}/deploy/x.yml:{line}: " in message and words in message, message
    assert "\n" not in message


def billion_laughs(levels=9):
    lines = ["x-0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"x-{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\nservices:\n  x:\n    image: a\n"


def test_an_alias_bomb_is_refused_in_bounded_time(tmp_path):
    started = time.monotonic()
    with pytest.raises(ConfigError) as info:
        dockeryaml.load(billion_laughs(), "bomb.yml")
    assert time.monotonic() - started < 1
    assert str(info.value).startswith("bomb.yml:1: ") and "excessive aliasing" in str(info.value)
    (tmp_path / "bomb.yml").write_text(billion_laughs(), encoding="utf-8")
    cli = docker(["stack", "config", "-c", str(tmp_path / "bomb.yml")], check=False)
    assert cli.returncode and "excessive aliasing" in cli.stderr


def test_moderate_aliasing_loads():
    doc, _ = dockeryaml.load(billion_laughs(3), "few.yml")
    assert len(doc["x-2"]) == 9 and doc["x-2"][0][0][0] == "lol"


def test_an_explicit_config_name_is_kept(tmp_path):
    (tmp_path / "c.conf").write_text("c\n", encoding="utf-8")
    text = ("version: \"3.5\"\nservices:\n  x:\n    image: a\n    configs: [c, d]\n"
            "    secrets: [s]\nconfigs:\n  c:\n    file: ../c.conf\n    name: shared-c\n"
            "  d:\n    file: ../c.conf\nsecrets:\n  s:\n    file: ../c.conf\n    name: ${S}\n")
    kargo, cli = both_ways(tmp_path, text, {"S": "shared-s"})
    assert kargo == cli
    written = compose.load_stack((tmp_path / "kargo-x.yml").read_text(), "kargo-x.yml")
    assert written["configs"]["c"]["name"] == "shared-c"
    assert written["secrets"]["s"]["name"] == "shared-s"
    assert written["configs"]["d"]["name"].startswith("kargo-t_d_")  # kargo's content hash


def test_the_version_kargo_declares_allows_what_it_wrote(tmp_path):
    # kargo names file configs (3.5) and writes long volumes and ports (3.2)
    (tmp_path / "c.conf").write_text("c\n", encoding="utf-8")
    text = ("version: \"3.3\"\nservices:\n  x:\n    image: a\n    configs: [c]\n"
            "    volumes: [/srv:/srv]\nconfigs:\n  c:\n    file: ../c.conf\n")
    kargo, cli = both_ways(tmp_path, text)
    assert kargo == cli
    written = compose.load_stack((tmp_path / "kargo-x.yml").read_text(), "kargo-x.yml")
    assert written["version"] == "3.5"
    assert compose.needed_version({"services": {"x": {"ports": [{"target": 1}]}}}, "3.0") == "3.2"
    assert compose.needed_version({"services": {"x": {"ports": ["1:1"]}}}, "3.0") == "3.0"
    assert compose.needed_version({"services": {}}, "3") == "3"


# Found by the fuzzer (test_fuzz_docker.py): docker/cli splits a reference at
# the first `:-` anywhere, else the first `-`, before it looks for `?`.
SPLIT_ELSEWHERE = [
    ("${A:?must-be-set}", {}, "be-set"),       # a default `be-set` of a variable `A:?must`
    ("${A:?-}", {}, ""),
    ("${A-x:-y}", {"A": "set"}, "y"),          # a default `y` of a variable `A-x`
    ("${A?x:-y}", {"A": "set"}, "y"),
]


@pytest.mark.parametrize("text, shell, cli_value", SPLIT_ELSEWHERE,
                         ids=[c[0] for c in SPLIT_ELSEWHERE])
def test_a_reference_the_cli_splits_elsewhere_is_refused(text, shell, cli_value, tmp_path):
    kargo, cli = both_ways(tmp_path, f"services:\n  x:\n    image: a\n    labels:\n"
                                     f"      l: \"{text}\"\n", shell)
    assert cli["services"]["x"]["labels"]["l"] == cli_value
    assert isinstance(kargo, Refused)
    assert f"{tmp_path}/deploy/x.yml:5: " in str(kargo) and "splits at the first" in str(kargo)


def test_a_failed_required_reference_is_refused_where_the_cli_forgets_it(tmp_path):
    # found by the fuzzer: docker/cli's template keeps only the last
    # reference's error, so `${A:?}${A}` with A unset gives "" there
    kargo, cli = both_ways(tmp_path, "services:\n  x:\n    image: a\n    labels:\n"
                                     "      l: \"${A:?}${A}\"\n")
    assert cli["services"]["x"]["labels"]["l"] == ""
    assert isinstance(kargo, Refused) and "variable A is required" in str(kargo)
    _, cli = both_ways(tmp_path, "services:\n  x:\n    image: a\n    labels:\n"
                                 "      l: \"${A:?}\"\n")
    assert isinstance(cli, Refused)


@pytest.mark.parametrize("port", ["+2:80", "2:+80", " 2:80", "1_0:80", "2:8_0"])
def test_a_port_number_is_ascii_digits(port, tmp_path):
    # found by the fuzzer: Python's int() takes "+2", the CLI's ParseUint does not
    kargo, cli = both_ways(tmp_path, "services:\n  x:\n    image: a\n    ports:\n"
                                     "      - \"${P}\"\n", {"P": port})
    assert isinstance(cli, Refused), cli
    assert isinstance(kargo, Refused) and "invalid port" in str(kargo), kargo


def test_a_document_nested_too_deep_is_one_line():
    # PyYAML composes recursively: a hostile file is one line, not a traceback
    with pytest.raises(ConfigError) as info:
        dockeryaml.load("a: " + "[" * 5000 + "]" * 5000, "deep.yml")
    assert str(info.value) == "deep.yml: not valid YAML for kargo: nested too deep"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-8-sig"])
def test_a_file_with_a_byte_order_mark(encoding, tmp_path):
    # found in the field (diamol's ch14 prod-full.yml is UTF-16): go-yaml reads
    # UTF-16 and UTF-8 with a byte order mark
    text = "version: \"3.7\"\r\nservices:\r\n  x:\r\n    image: a\r\n    labels: {é: ü}\r\n"
    data = text.encode(encoding)
    if encoding == "utf-16-be":
        data = codecs.BOM_UTF16_BE + data
    kargo, cli = both_ways(tmp_path, data)
    assert not isinstance(cli, Refused), cli
    assert kargo == cli and cli["services"]["x"]["labels"] == {"é": "ü"}


def test_an_extra_host_holding_a_equals_sign_reads_back_the_same(tmp_path):
    # found by the fuzzer: the CLI turns the first `=` of a list entry into `:`
    kargo, cli = both_ways(tmp_path, "services:\n  x:\n    image: a\n    extra_hosts:\n"
                                     "      alpha: \"${A:-::1}\"\n      beta: \"1=2\"\n"
                                     "      zulu: 162.242.195.82\n", {"A": "="})
    assert cli["services"]["x"]["extra_hosts"] == ["alpha:=", "beta:1=2", "zulu:162.242.195.82"]
    assert kargo == cli
    kargo, cli = both_ways(tmp_path, "services:\n  x:\n    image: a\n    extra_hosts:\n"
                                     "      - a=b=c\n      - d:e=f\n      - g=::1\n")
    assert kargo == cli
