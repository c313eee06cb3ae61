"""Differential fuzzing against Docker's own loader: Hypothesis generates
compose files (interpolation forms and modifiers, YAML quoting and escapes,
plain scalars go-yaml reads its own way, anchors and merge keys, bare and
empty environment entries, short and long ports and volumes, values the CLI
casts) and environments, and kargo's stack file must give, through `docker
stack config`, the configuration `docker stack config` gives the same file
and environment, field by field; or both refuse. kargo's documented
strictness (an undefined variable, a `$` that starts no reference, a port
given twice, a reference the CLI splits elsewhere, a failed `${A:?}` the
CLI forgets) may refuse what the CLI
takes; nothing else may differ.

A fixed, derandomized budget runs in the suite; KARGO_FUZZ_EXAMPLES=<n>
runs n examples with a fresh seed (a long run, on demand). Every
difference found is a fixed row of upstream_vectors.py or
test_as_docker_reads.py, not a skipped example.
"""
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from compose_support import Refused, both_ways

EXAMPLES = int(os.environ.get("KARGO_FUZZ_EXAMPLES", "0"))
# the suite's budget: about 11 s and 7 s here, under a minute on a loaded 2-core machine


def budget(examples):
    return settings(max_examples=EXAMPLES or examples, derandomize=not EXAMPLES, deadline=None,
                    suppress_health_check=list(HealthCheck), database=None)
# kargo's refusals the README documents (what the CLI takes and kargo does not)
DOCUMENTED = ("is not defined", "a $ must start a reference", "is given twice",
              "splits at the first", "is required")  # the CLI forgets a failed `?` when a later reference succeeds

NAMES = ["A", "B", "EMPTY", "N", "RO", "UNSET"]
safe_text = st.text(st.sampled_from("abcXYZ019 _-./:=@%+,"), max_size=8)
env_value = st.one_of(safe_text, st.sampled_from(["", "yes", "no", "True", "0", "3", "2.5", "x y",
                                                  "$HOME", "a$b", "$$", "{}", "0o17", "~"]))


def reference():
    """One `$` form docker/cli and kargo both define (no nested `${`)."""
    name = st.sampled_from(NAMES)
    default = st.text(st.sampled_from("ab1 $:-?{/"), max_size=6).filter(
        lambda t: "}" not in t and "${" not in t)
    op = st.sampled_from([":-", "-", ":?", "?"])
    return st.one_of(
        st.builds(lambda n: f"${{{n}}}", name),
        st.builds(lambda n: f"${n} ", name),  # unbraced, then a blank (not -, :- ? or :?)
        st.builds(lambda n, o, d: f"${{{n}{o}{d}}}", name, op, default),
        st.just("$$"), st.just("$$x"))


piece = st.one_of(safe_text, reference())
interpolated = st.lists(piece, min_size=1, max_size=4).map("".join)
plain_scalar = st.sampled_from([
    "yes", "on", "n", "Y", "true", "False", "~", "null", "0o17", "0755", "0x1F", "1e3", "1_000",
    "3000:30", ".5", "+1", "-0", "2001-12-14", "2001-12-14 21:59:43.10", "1.0", "010", "0b11",
    "9223372036854775808", "abc", "a b", "'", "#x", "-", "=", "0.1e1"])


def scalar():
    """A YAML scalar as text: quoted (single, double, with escapes) or plain."""
    def single(t):
        return "'" + t.replace("'", "''") + "'"

    def double(t):
        return '"' + t.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return st.one_of(
        interpolated.map(single), interpolated.map(double),
        st.sampled_from(['"\\t"', '"\\\'"', '"a\\u00e9"', '"\\x41"', '"$${X}"']),
        plain_scalar)


def environment_block():
    entry_map = st.tuples(st.sampled_from(NAMES + ["K1", "K2"]),
                          st.one_of(scalar(), st.just(""), st.just("null")))
    as_map = st.lists(entry_map, max_size=4, unique_by=lambda e: e[0]).map(
        lambda es: "    environment:\n" + "".join(f"      {k}: {v}\n" for k, v in es) if es else "")
    entry_list = st.one_of(
        st.sampled_from(NAMES + ["K1"]),  # bare: from the environment
        st.builds(lambda k: f"{k}=", st.sampled_from(NAMES)),
        st.builds(lambda k, v: f"{k}={v}", st.sampled_from(["K1", "K2", "K3"]), interpolated))
    as_list = st.lists(entry_list, max_size=4, unique_by=lambda e: e.split("=")[0]).map(
        lambda es: "    environment:\n" + "".join(
            f"      - '{e.replace(chr(39), chr(39) * 2)}'\n" for e in es) if es else "")
    return st.one_of(as_map, as_list)


labels = st.lists(st.tuples(st.sampled_from(["l1", "l2", "com.x"]), scalar()), max_size=3,
                  unique_by=lambda e: e[0]).map(
    lambda es: "    labels:\n" + "".join(f"      {k}: {v}\n" for k, v in es) if es else "")
ports = st.lists(st.sampled_from([
    '"8080:80"', "80", '"8000-8001:80-81"', '"9090:90/udp"', '"${N}:80"',
    "{target: 81, published: 8081}", "{target: 82, published: 8082, mode: host}"]),
    max_size=3, unique=True).map(
    lambda ps: "    ports:\n" + "".join(f"      - {p}\n" for p in ps) if ps else "")
volumes = st.lists(st.sampled_from([
    '"/srv/a:/a:ro"', '"/var/lib/docker/:/d"', '"data:/data"', '"./rel:/r"', '"/tmp"',
    "{type: bind, source: /srv/b/, target: /b}", "{type: volume, source: data, target: /v}",
    "{type: tmpfs, target: /t}"]), max_size=3, unique=True).map(
    lambda vs: "    volumes:\n" + "".join(f"      - {v}\n" for v in vs) if vs else "")
deploy = st.fixed_dictionaries({
    "replicas": st.sampled_from(["", "      replicas: ${N}\n", "      replicas: 2\n"]),
    "ratio": st.sampled_from(["", "      update_config:\n        max_failure_ratio: ${N}\n",
                              "      update_config:\n        max_failure_ratio: 0.5\n"]),
    "labels": st.sampled_from(["", "      labels: [\"d=${A:-x}\", \"e\"]\n"]),
}).map(lambda d: ("    deploy:\n" + "".join(d.values())) if any(d.values()) else "")
command = st.one_of(st.just(""), interpolated.map(lambda t: f"    command: {scalar_of(t)}\n"),
                    st.lists(interpolated, min_size=1, max_size=3).map(
                        lambda ts: "    command: [" + ", ".join(scalar_of(t) for t in ts) + "]\n"))
flags = st.sampled_from(["", "    read_only: ${RO}\n", "    tty: true\n",
                         "    healthcheck:\n      test: echo ${A:-ok}\n      retries: ${N}\n",
                         "    healthcheck:\n      test: [CMD, x, \"${B:-y}\"]\n      interval: 10s\n",
                         "    stop_grace_period: 1s\n", "    init: yes\n", "    init: true\n",
                         "    extra_hosts:\n      zulu: 162.242.195.82\n      alpha: \"${A:-::1}\"\n",
                         "    extra_hosts: [\"a:1.2.3.4\", \"b=::1\"]\n",
                         "    ulimits:\n      nproc: ${N}\n      nofile: {soft: 1, hard: 2}\n",
                         "    deploy:\n      resources:\n        limits: {cpus: \"${N}\", memory: 64M}\n",
                         "    user: \"${N}:${N}\"\n    working_dir: /w\n    hostname: h\n"])
anchors = st.sampled_from([
    ("", ""),
    ("x-common: &common\n  environment:\n    K9: common\n  labels: [c=1]\n", "    <<: *common\n"),
    ("x-env: &env\n  K9: ${A:-anchor}\n", "    environment: *env\n"),
    ("x-a: &a [one]\nx-b: &a [two]\n", "    command: *a\n"),
    ("x-a: &a\n  labels: {a: \"1\"}\n  tty: true\nx-b: &b\n  labels: {b: \"${A:-2}\"}\n"
     "  stdin_open: on\n", "    <<: [*a, *b]\n"),
    ("x-p: &p {target: 83, published: \"${N}\"}\n", "    ports: [*p]\n")])


def scalar_of(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@st.composite
def compose_file(draw):
    top, use = draw(anchors)
    body = (draw(environment_block()) if "environment" not in use else "") + draw(labels) \
        + (draw(ports) if "ports" not in use else "") + draw(volumes) + draw(deploy) + draw(flags) \
        + (draw(command) if "command" not in use else "")
    version = draw(st.sampled_from(["", 'version: "3.8"\n', 'version: "3.2"\n', 'version: "3"\n']))
    image = draw(st.sampled_from(["busybox", "${A:-busybox}", "busybox:${B-latest}"]))
    text = f"{version}{top}services:\n  x:\n    image: {scalar_of(image)}\n{use}{body}"
    if "data:" in body:
        text += "volumes:\n  data: {}\n"
    return text


shell_env = st.fixed_dictionaries({}, optional={
    "A": env_value, "B": env_value, "EMPTY": st.just(""),
    "N": st.sampled_from(["1", "2", "3", "0", "x", "1.5", "+2", "010"]),
    "RO": st.sampled_from(["true", "yes", "false", "no", "1", "x", "True", "ON"])})


def test_docker_stack_config_is_here():
    # `docker stack config --help` exits 0 on a CLI without it: load a file
    probe = subprocess.run(["docker", "stack", "config", "-c", "-"], capture_output=True,
                           text=True, input="services:\n  x:\n    image: a\n",
                           timeout=60) if shutil.which("docker") else None
    if probe is None or probe.returncode or "services:" not in probe.stdout:
        pytest.fail("the docker CLI 23 or later is needed for `docker stack config` (Debian "
                    "12's docker.io is 20.10): install docker-ce-cli from download.docker.com",
                    pytrace=False)


@budget(150)
@given(text=compose_file(), shell=shell_env)
def test_kargo_reads_what_docker_reads(text, shell):
    test_docker_stack_config_is_here()
    with tempfile.TemporaryDirectory(prefix="kargo-fuzz-") as folder:
        kargo, cli = both_ways(folder, text, shell)
    if isinstance(kargo, Refused) and any(words in str(kargo) for words in DOCUMENTED):
        return  # kargo's documented strictness
    if isinstance(cli, Refused) and not isinstance(kargo, Refused) and text.startswith("version"):
        # documented: a key newer than the declared version is left to the CLI
        with tempfile.TemporaryDirectory(prefix="kargo-fuzz-") as folder:
            _, latest = both_ways(folder, text.split("\n", 1)[1], shell)
        assert not isinstance(latest, Refused), f"the CLI refuses ({cli}), kargo takes:\n{text}"
        return
    if isinstance(cli, Refused):
        assert isinstance(kargo, Refused), f"the CLI refuses ({cli}), kargo takes:\n{text}"
        return
    assert not isinstance(kargo, Refused), f"kargo refuses ({kargo}), the CLI takes:\n{text}"
    assert kargo == cli, text


# --- .env layers, against bash sourcing them (the bash Kargo's way) -------
# Forms bash and compose-go read alike: unquoted words, double quotes with
# references and spaces, single quotes as written, `export`, comments. Kargo's
# documented difference (a reference sees a variable's final value, not the
# lines above) is kept out: a line refers only to names no later line sets,
# and to itself (the layer below).
ENV_NAMES = ["A", "B", "C"]
word = st.text(st.sampled_from("abcXYZ019_-./:@%+,"), min_size=1, max_size=6)


@st.composite
def env_value_text(draw, name, defined):
    """(text of a value, names it refers to) for the line setting `name`."""
    quote = draw(st.sampled_from(["", '"', "'"]))
    parts, refs = [], set()
    for _ in range(draw(st.integers(1, 3))):
        choices = [word] + ([st.builds(lambda w: f"{w} ", word)] if quote else [])
        if quote != "'":
            other = sorted(defined) + [name]
            target = st.sampled_from(other)
            choices += [target.map(lambda n: f"${{{n}}}"),
                        st.builds(lambda n, o, d: f"${{{n}{o}{d}}}", target,
                                  st.sampled_from([":-", "-"]), word)]
        part = draw(st.one_of(choices))
        refs |= set(re.findall(r"\$\{([A-Z])", part))
        parts.append(part)
    return f"{quote}{''.join(parts)}{quote}", refs


@st.composite
def env_layers(draw):
    layers, defined, reads, sets = [], set(), [], []
    for layer in range(2):
        lines = []
        for name in draw(st.lists(st.sampled_from(ENV_NAMES), unique=True, max_size=3)):
            text, refs = draw(env_value_text(name, defined))
            prefix = draw(st.sampled_from(["", "export "]))
            lines.append(f"{prefix}{name}={text}")
            reads.append((len(sets), refs - {name}))
            sets.append(name)
            defined.add(name)
        comment = draw(st.sampled_from(["", "# a comment\n"]))
        layers.append(comment + "".join(line + "\n" for line in lines))
    # no line refers to a name a later line sets (kargo: the final value)
    for index, refs in reads:
        if refs & set(sets[index + 1:]):
            from hypothesis import assume
            assume(False)
    return layers


@budget(300)
@given(layers=env_layers())
def test_env_layers_read_as_bash_sources_them(layers):
    from kargo_tasks.base.errors import ConfigError
    from kargo_tasks.workspace import environment
    with tempfile.TemporaryDirectory(prefix="kargo-fuzz-env-") as folder:
        paths = []
        for i, text in enumerate(layers):
            path = Path(folder) / f"layer{i}.env"
            path.write_text(text, encoding="utf-8")
            paths.append(path)
        script = "set -a; " + " ".join(f'. "{p}";' for p in paths) + " " + " ".join(
            f'printf "%s\\0%s\\0" "${{{n}+set}}" "${n}";' for n in ENV_NAMES)
        bash = subprocess.run(["bash", "-c", script], capture_output=True, text=True,
                              env={"PATH": os.environ["PATH"]})
        try:
            kargo = environment.load(paths, {})
        except ConfigError as err:
            assert "is not defined" in str(err), f"{err}\n{layers}"  # documented strictness
            return
    fields = bash.stdout.split("\0")
    bash_values = {n: fields[2 * i + 1] if fields[2 * i] else None
                   for i, n in enumerate(ENV_NAMES)}
    assert {n: kargo.get(n) for n in ENV_NAMES} == bash_values, layers
