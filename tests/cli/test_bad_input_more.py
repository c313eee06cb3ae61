"""More bad input: one line naming the file (and line), variable, stack or
service; a non-zero exit; and NOTHING changed: every file of `.kargo/`
(bytes, mtime, mode; the doit database and the digest key included), the
`.workspace` record, and the engine, which must not even be asked.

The engine is a unix socket of the test's own (DOCKER_HOST) that counts the
connections made to it: kargo must refuse bad input before its first engine
call, even under `doit deploy` (which asks the engine once every stack file
it deploys is resolved).

A compose file is copied into `.kargo/` like any file, and read when the
stacks that use it resolve: its errors are theirs (an unused broken file
breaks no stack). For those cases the merged copy of the operator's file
is new, and nothing else: not the stack files, not their doit records.

test_bad_input.py already covers: undefined variable in a .tpl and in a .j2,
broken Jinja syntax, a Jinja sandbox escape, an unterminated `${` in a .tpl,
a YAML override that does not parse, a template that is not UTF-8, a symlink
escaping the workspace, a broken symlink, a `.env` syntax error, an undefined
`${VAR}` in `.env`, a missing workspace, a workspace that is a file, no
workspace selected, a stack naming an unknown service, STACKS naming a stack
without `<STACK>_STACK`, and values kept out of errors (17 cases). The
engine-side ones live with the engine tests: a hook that is not executable,
cannot start or exits 1 (test_stacks.py::test_hooks_run_around_the_deploy_and_fail_it),
a failing build and a push to a stopped registry (test_images.py), and
KARGO_DEPLOY_TIMEOUT / <NODE>_LABELS cases (test_faults.py).
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from support import write
from untouched import one_error_line, probe, state  # noqa: F401

# The workspace compose file of the `front` service for every case: it reads
# the variables the cases break (replicas, a config file, a motto).
FRONT_YML = """
version: "3.8"
services:
  front:
    image: ${FRONT_IMAGE}:${FRONT_TAG}
    environment:
      MOTTO: ${FRONT_MOTTO}
    configs:
      - source: front_conf
        target: /etc/front.conf
    deploy:
      replicas: ${FRONT_REPLICAS}
      endpoint_mode: dnsrr
configs:
  front_conf:
    file: ../configs/front/${FRONT_CONF:-plain.conf}
"""
BASE_ENV = "FRONT_MOTTO=steady\n"


CASES = {}


def case(func):
    """A bad input: `func(kargo)` breaks it and returns (doit args, [what the
    line must say]); `func.prepare(kargo)`, if set, runs before the baseline."""
    CASES[func.__name__] = func
    return func


def resolve_time(func):
    """A case found by `_stack:<stack>`, after the `_configure` group task
    completed: doit then saves that group's record again, unchanged (so the
    rows are equal but sqlite rewrote a page). The rows are compared, the
    bytes are not; the merged copies of compose files and their configure
    records may be new (see the module's doc)."""
    func.db_bytes = False
    func.compose_copies = True
    return func


def env_file(k):
    return k.workspace / ".env"


# --- the environment files --------------------------------------------------------

@case
def env_with_text_after_a_quote(k):
    # (a byte order mark, once refused here, is skipped as compose skips it)
    write(env_file(k), 'FRONT_MOTTO="steady" and more\n')
    return ("configure",), [f"{env_file(k)}:1: cannot parse this line: text after the closing "
                            "quote of FRONT_MOTTO"]


@case
def env_lone_name_with_a_space(k):
    write(env_file(k), "FRONT_MOTTO=steady\nFRONT TAG=1\n")
    return ("configure",), [f"{env_file(k)}:2: cannot parse this line: expected NAME=value"]


@case
def env_with_duplicate_key(k):
    write(env_file(k), "FRONT_MOTTO=steady\nWHO=a\n\nWHO=b\n")
    return ("configure",), [f"{env_file(k)}:4: WHO is already set on line 2"]


@case
def env_circular_reference(k):
    write(env_file(k), 'FRONT_MOTTO=steady\nA="x${B}"\nB="${A}y"\n')
    return ("configure",), [f"{env_file(k)}:2: circular reference A -> B -> A"]


@case
def env_circular_reference_across_layers(k):
    # defaults: GREETING="hello ${WHO:-world}"; the workspace makes WHO read GREETING
    write(env_file(k), 'FRONT_MOTTO=steady\nWHO="${GREETING}"\n')
    return ("configure",), ["circular reference GREETING -> WHO -> GREETING",
                            str(k.root / "defaults/.env.default")]


@case
def env_three_way_cycle_through_a_default(k):
    write(env_file(k), 'FRONT_MOTTO=steady\nA="${B:-x}"\nB="${C}"\nC="${A}"\n')
    return ("configure",), [f"{env_file(k)}:2: circular reference A -> B -> C -> A"]


@case
def env_not_utf8(k):
    env_file(k).write_bytes(b"FRONT_MOTTO=steady\nNAME=caf\xe9\n")
    return ("configure",), [f"{env_file(k)}:2: not UTF-8 text"]


@case
def env_required_variable_missing(k):
    write(env_file(k), "FRONT_MOTTO=steady\nDB_URL=${DB_PASSWORD:?set it in .env}\n")
    return ("configure",), [f"{env_file(k)}:2: variable DB_PASSWORD is required: set it in .env"]


@case
def env_bad_variable_reference(k):
    write(env_file(k), "FRONT_MOTTO=steady\nX=${1ABC}\n")
    return ("configure",), [f"{env_file(k)}:2: bad variable reference '${{1ABC}}'"]


@case
def env_unterminated_reference(k):
    write(env_file(k), 'FRONT_MOTTO=steady\nX="a ${WHO b"\n')
    return ("configure",), [f"{env_file(k)}:2: unterminated ${{"]


@case
def env_is_a_folder(k):
    env_file(k).unlink()
    env_file(k).mkdir()
    return ("configure",), [f"{env_file(k)}: cannot read: Is a directory"]


@case
def recorded_workspace_is_gone(k):
    k.workspace.rename(k.workspace.with_name("moved-away"))
    return ("configure",), [f"{k.root / '.workspace'}: workspace {k.workspace} does not exist",
                            "kargo use --workspace DIR"]


def _record_the_workspace(k):
    env = dict(k.env)
    del env["KARGO_WORKSPACE"]
    k.env = env
    k.run("use", "--workspace", str(k.workspace))


recorded_workspace_is_gone.prepare = _record_the_workspace


# --- stacks, the overlay plan -----------------------------------------------------

@case
def depends_on_a_stack_not_in_stacks(k):
    write(env_file(k), BASE_ENV + "WEB_DEPENDS=db\n")
    return ("deploy",), [f"{env_file(k)}:2: stack web depends on db, which is not in STACKS"]


@case
def stacks_depend_on_each_other(k):
    write(env_file(k), BASE_ENV + 'STACKS="web api"\nAPI_STACK="front"\n'
          "WEB_DEPENDS=api\nAPI_DEPENDS=web\n")
    return ("deploy",), [f"{env_file(k)}:4: stacks depend on each other: web -> api -> web"]


@case
def workspace_file_in_reserved_folder(k):
    path = write(k.workspace / "stacks/web.yml", "services: {}\n")
    return ("configure",), [f"{path}: stacks/ is reserved for kargo's own files"]


@case
def two_templates_make_one_output(k):
    write(k.workspace / "configs/front/x.conf.j2", "{{ WHO }}\n")
    write(k.workspace / "configs/front/x.conf.tpl", "${WHO}\n")
    return ("configure",), [f"{k.workspace / 'configs/front'}: both x.conf.j2 and x.conf.tpl "
                            "make configs/front/x.conf"]


@case
def symlink_loop_in_the_workspace(k):
    link = k.workspace / "configs/front/again"
    link.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(k.workspace / "configs", link)
    return ("configure",), [f"{link}: symbolic link to a folder that contains it (a loop)"]


# --- service variables and compose files: found when the stack file resolves,
# before `deploy` asks the engine anything ----------------------------------------

@case
@resolve_time
def replicas_not_a_number(k):
    write(env_file(k), BASE_ENV + "FRONT_REPLICAS=abc\n")
    return ("deploy",), [f"{k.workspace / 'deploy/front.yml'}:{_line('replicas:')}: "
                         "services.front.deploy.replicas must be a whole number, and "
                         "FRONT_REPLICAS does not make one"]


@case
@resolve_time
def constraint_with_bad_syntax(k):
    write(env_file(k), BASE_ENV + 'FRONT_CONSTRAINTS="node.role==manager node.labels.db=yes"\n')
    return ("deploy",), [f"{env_file(k)}:2: FRONT_CONSTRAINTS: bad placement constraint "
                         "'node.labels.db=yes'"]


@case
@resolve_time
def extension_file_missing(k):
    write(env_file(k), BASE_ENV + "FRONT_EXTENSION=front-big\n")
    return ("deploy",), [f"{env_file(k)}:2: FRONT_EXTENSION names deploy/front-big.yml, "
                         "which does not exist"]


def _line(text):
    return FRONT_YML.lstrip("\n").splitlines().index(
        next(line for line in FRONT_YML.lstrip("\n").splitlines() if text in line)) + 1


def _ghost(k, text):
    """A new service `ghost` in stack web, with the compose file `text`."""
    write(env_file(k), BASE_ENV + 'WEB_STACK="front ghost"\n')
    return write(k.workspace / "deploy/ghost.yml", text)


@case
@resolve_time
def compose_unknown_service_key(k):
    path = _ghost(k, "services:\n  ghost:\n    image: x\n    replicas: 2\n")
    return ("_stack:web",), [f"kargo: _stack:web: {path}:4: services.ghost Additional "
                             "property replicas is not allowed"]


@case
@resolve_time
def compose_unknown_deploy_key(k):
    path = _ghost(k, "services:\n  ghost:\n    image: x\n    deploy:\n      replica: 2\n")
    return ("_stack:web",), [f"{path}:5: services.ghost.deploy Additional property replica "
                             "is not allowed"]


@case
@resolve_time
def compose_environment_of_wrong_type(k):
    path = _ghost(k, "services:\n  ghost:\n    image: x\n    environment: 5\n")
    return ("_stack:web",), [f"{path}:4: services.ghost.environment must be a mapping or list"]


@case
@resolve_time
def compose_deploy_of_wrong_type(k):
    path = _ghost(k, "services:\n  ghost:\n    image: x\n    deploy: [1, 2]\n")
    return ("_stack:web",), [f"{path}:4: services.ghost.deploy must be a mapping"]


@case
@resolve_time
def compose_unknown_top_level_key(k):
    path = _ghost(k, "services:\n  ghost:\n    image: x\nservice:\n  other: {}\n")
    return ("_stack:web",), [f"{path}:4: (root) Additional property service is not allowed"]


@case
@resolve_time
def compose_is_a_list(k):
    path = _ghost(k, "- ghost\n- image: x\n")
    return ("_stack:web",), [f"{path}: a compose file must be a mapping with `services:`"]


@case
@resolve_time
def compose_with_a_key_twice(k):
    # (several documents, once refused here, are read as Docker reads them: the first)
    path = _ghost(k, "services:\n  ghost:\n    image: x\n    image: y\n")
    return ("_stack:web",), [f"{path}:4: not valid YAML: key 'image' is already defined on line 3"]


@case
@resolve_time
def extension_that_is_not_compose(k):
    write(env_file(k), BASE_ENV + "FRONT_EXTENSION=front-big\n")
    path = write(k.workspace / "deploy/front-big.yml",
                 'version: "3.8"\nservices:\n  front:\n    scale: 3\n')
    return ("_stack:web",), [f"{path}:4: services.front Additional property scale is not allowed"]


@case
@resolve_time
def compose_lone_dollar(k):
    path = _ghost(k, "services:\n  ghost:\n    image: x\n    command: echo $1\n")
    return ("deploy",), [f"{path}:4: a $ must start a reference ($NAME or ${{NAME}}): "
                         "write $$ for a literal $"]


@case
@resolve_time
def compose_unbraced_undefined_variable(k):
    path = _ghost(k, "services:\n  ghost:\n    image: $GHOST_IMAGE\n")
    return ("deploy",), [f"{path}:3: variable GHOST_IMAGE is not defined"]


@case
@resolve_time
def compose_versions_that_differ(k):
    write(env_file(k), BASE_ENV + "FRONT_EXTENSION=front-big\n")
    path = write(k.workspace / "deploy/front-big.yml", "services:\n  front:\n    hostname: h\n")
    return ("deploy",), [f"{path}: version 3.13 differs from 3.8 of"]


@case
@resolve_time
def compose_reads_an_undefined_variable(k):
    write(env_file(k), "UNRELATED=1\n")  # FRONT_MOTTO gone
    return ("deploy",), [f"{k.workspace / 'deploy/front.yml'}:{_line('MOTTO:')}: "
                         "variable FRONT_MOTTO is not defined"]


@case
@resolve_time
def compose_config_file_missing(k):
    write(env_file(k), BASE_ENV + "FRONT_CONF=nothere.conf\n")
    return ("_stack:web",), [f"{k.workspace / 'deploy/front.yml'}:{_line('file:')}: configs "
                             "file ../configs/front/nothere.conf does not exist"]


# --- images -----------------------------------------------------------------------

@case
def archive_that_does_not_exist(k):
    archive = k.workspace / "no-such-image.tar"
    write(env_file(k), BASE_ENV + f"FOO_ARCHIVE={archive}\nFOO_IMAGE=127.0.0.1:5000/x/foo\n")
    return ("import:foo",), [f"kargo: import:foo: {archive}: archive does not exist"]


# ---------------------------------------------------------------------------------

@pytest.fixture
def baseline(kargo, probe):
    """The workspace configured once, with no engine; a probe as DOCKER_HOST."""
    kargo.env["DOCKER_HOST"] = probe.url
    write(kargo.workspace / "deploy/front.yml", FRONT_YML)
    write(kargo.workspace / ".env", BASE_ENV)
    return kargo


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_changes_nothing(baseline, probe, name):
    k, make = baseline, CASES[name]
    if hasattr(make, "prepare"):
        make.prepare(k)
    k.run("configure")
    db_bytes = getattr(make, "db_bytes", True)
    copies = getattr(make, "compose_copies", False)
    before = state(k, db_bytes, copies)
    args, expected = make(k)
    proc = k.run(*args, check=False)
    line = one_error_line(proc)
    assert line.startswith("kargo: "), line
    for piece in expected:
        assert piece in line, line
    assert state(k, db_bytes, copies) == before
    assert probe.connections == 0, "the engine was asked"
    # and doit's listing still lists what needs no environment; when the
    # environment is what cannot be read, it says so too, on the same line
    listing = k.run("list", check=False)
    assert "show" in listing.stdout.split(), listing.stdout
    if listing.returncode:
        assert listing.stderr.splitlines() == [f"kargo: list: {line.split(': ', 2)[2]}"]


def test_case_count():
    """The issue asks for at least 30 bad-input cases, these and test_bad_input.py's,
    counted as pytest collects them."""
    proc = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                           "-p", "no:cacheprovider", str(Path(__file__).with_name(
                               "test_bad_input.py"))],
                          capture_output=True, text=True, cwd=Path(__file__).parent,
                          env={k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"})
    older = [line for line in proc.stdout.splitlines() if "::" in line]
    assert len(older) >= 17, proc.stdout
    assert len(CASES) + len(older) >= 30


def test_the_probe_sees_an_engine_call(baseline, probe):
    """A control: the probe does see kargo ask the engine."""
    baseline.run("configure")
    proc = baseline.run("deploy", check=False)
    assert proc.returncode != 0
    assert probe.connections > 0
    assert f"the Docker engine is not answering on {probe.url} (chosen by DOCKER_HOST)" in \
        proc.stderr


@pytest.mark.parametrize("what", ["compose key", "undefined variable"])
def test_deploy_validates_everything_before_asking_the_engine(baseline, probe, what):
    k = baseline
    k.run("configure")
    before = state(k, db_bytes=False, compose_copies=True)
    if what == "compose key":
        path = _ghost(k, "services:\n  ghost:\n    image: x\n    replicas: 2\n")
        expected = f"{path}:4: services.ghost Additional property replicas is not allowed"
    else:
        write(env_file(k), "UNRELATED=1\n")  # the compose file reads FRONT_MOTTO
        expected = "variable FRONT_MOTTO is not defined"
    line = one_error_line(k.run("deploy", check=False))
    assert expected in line, line
    assert state(k, db_bytes=False, compose_copies=True) == before
    assert probe.connections == 0
