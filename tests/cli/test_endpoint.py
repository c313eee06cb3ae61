"""endpoint.resolve chooses the engine the docker CLI chooses. Each case is
also asked of the docker CLI itself (`docker context show`, `docker context
inspect`, which ask no engine), with contexts the CLI made: kargo is held to
the CLI, not to our reading of its documentation."""
import json
import os
import subprocess

import pytest

from kargo_tasks.base.errors import EngineError
from kargo_tasks.engine.endpoint import DEFAULT_SOCKET, TLS, cli_env, resolve
from kargo_tasks.operations import project as project_mod
from support import write


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    """A self-signed certificate as ca.pem, cert.pem, key.pem (the CLI reads them)."""
    folder = tmp_path_factory.mktemp("certs")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=kargo",
                    "-keyout", str(folder / "key.pem"), "-out", str(folder / "cert.pem")],
                   check=True, capture_output=True)
    (folder / "ca.pem").write_bytes((folder / "cert.pem").read_bytes())
    return folder


@pytest.fixture
def config(tmp_path, certs):
    """A docker config folder with contexts made by the docker CLI."""
    folder = tmp_path / "docker"
    folder.mkdir()
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "DOCKER_CONFIG": str(folder)}

    def docker(*args):
        return subprocess.run(["docker", *args], capture_output=True, text=True, env=env,
                              check=True).stdout.strip()
    docker("context", "create", "prod", "--docker",
           f"host=tcp://prod.example:2376,ca={certs}/ca.pem,cert={certs}/cert.pem,"
           f"key={certs}/key.pem")
    docker("context", "create", "insecure", "--docker",
           "host=tcp://insecure.example:2376,skip-tls-verify=true")
    docker("context", "create", "plain", "--docker", "host=tcp://plain.example:2375")
    docker("context", "create", "remote", "--docker", "host=ssh://admin@manager.example")
    return folder, certs, env


def cli_says(env):
    """(context, host) the docker CLI would use with `env`."""
    name = subprocess.run(["docker", "context", "show"], capture_output=True, text=True,
                          env=env).stdout.strip()
    out = subprocess.run(["docker", "context", "inspect", name], capture_output=True,
                         text=True, env=env).stdout
    return name, json.loads(out)[0]["Endpoints"]["docker"]["Host"]


@pytest.mark.parametrize("extra, context, host", [
    ({}, "default", DEFAULT_SOCKET),
    ({"DOCKER_CONTEXT": "prod"}, "prod", "tcp://prod.example:2376"),
    ({"DOCKER_CONTEXT": "remote"}, "remote", "ssh://admin@manager.example"),
    ({"DOCKER_CONTEXT": "default"}, "default", DEFAULT_SOCKET),
    ({"DOCKER_HOST": "tcp://other:2375", "DOCKER_CONTEXT": "prod"}, "default", "tcp://other:2375"),
    ({"DOCKER_HOST": "unix:///run/other.sock"}, "default", "unix:///run/other.sock"),
    ({"DOCKER_HOST": "", "DOCKER_CONTEXT": "plain"}, "plain", "tcp://plain.example:2375"),
])
def test_the_context_and_host_are_the_clis(config, extra, context, host):
    folder, _, env = config
    env = dict(env, **extra)
    point = resolve(env)
    assert (point.context, point.host) == (context, host)
    assert cli_says(env) == (context, host)


def test_the_current_context_of_the_config_file(config):
    folder, _, env = config
    subprocess.run(["docker", "context", "use", "prod"], env=env, check=True, capture_output=True)
    point = resolve(env)
    assert (point.context, point.host) == ("prod", "tcp://prod.example:2376")
    assert point.chosen_by == f"the current context of {folder}/config.json"
    assert cli_says(env) == ("prod", "tcp://prod.example:2376")
    # DOCKER_CONTEXT beats it, DOCKER_HOST beats both
    assert resolve(dict(env, DOCKER_CONTEXT="plain")).context == "plain"
    assert resolve(dict(env, DOCKER_HOST="tcp://h:1")).host == "tcp://h:1"


def test_a_context_brings_its_tls_files(config):
    folder, _, env = config
    point = resolve(dict(env, DOCKER_CONTEXT="prod"))
    assert point.tls.verify and point.tls.ca.startswith(str(folder / "contexts/tls"))
    assert point.tls.cert.endswith("/docker/cert.pem") and point.tls.key.endswith("/docker/key.pem")
    assert resolve(dict(env, DOCKER_CONTEXT="insecure")).tls == TLS(None, None, None, False)
    assert resolve(dict(env, DOCKER_CONTEXT="plain")).tls is None
    assert resolve(dict(env, DOCKER_CONTEXT="remote")).tls is None


def test_tls_from_the_environment_goes_with_docker_host_only(config):
    _, certs, env = config
    with_host = dict(env, DOCKER_HOST="tcp://h:2376", DOCKER_CERT_PATH=str(certs))
    assert resolve(with_host).tls is None  # DOCKER_CERT_PATH alone enables nothing
    verify = resolve(dict(with_host, DOCKER_TLS_VERIFY="1")).tls
    assert verify == TLS(f"{certs}/ca.pem", f"{certs}/cert.pem", f"{certs}/key.pem", True)
    assert resolve(dict(with_host, DOCKER_TLS_VERIFY="0")).tls.verify  # any value: verify
    assert not resolve(dict(with_host, DOCKER_TLS="1")).tls.verify
    # a named context keeps its own TLS (none here)
    assert resolve(dict(env, DOCKER_CONTEXT="plain", DOCKER_TLS_VERIFY="1",
                        DOCKER_CERT_PATH=str(certs))).tls is None


def test_tls_without_a_host_is_localhost_2376_and_a_tcp_host_gets_2375(config):
    _, certs, env = config
    point = resolve(dict(env, DOCKER_TLS_VERIFY="1", DOCKER_CERT_PATH=str(certs)))
    assert point.host == "tcp://localhost:2376" and point.tls.verify
    assert resolve(dict(env, DOCKER_HOST="tcp://h")).host == "tcp://h:2375"
    assert cli_says(dict(env, DOCKER_HOST="tcp://h"))[1] == "tcp://h:2375"


def test_tls_without_its_authority_is_an_error(config, tmp_path):
    _, _, env = config
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(EngineError) as info:
        resolve(dict(env, DOCKER_HOST="tcp://h:2376", DOCKER_TLS_VERIFY="1",
                     DOCKER_CERT_PATH=str(empty)))
    assert f"{empty}/ca.pem does not exist" in str(info.value)


@pytest.mark.parametrize("how", ["DOCKER_CONTEXT", "config"])
def test_an_unknown_context_is_one_line_naming_it_and_how_it_was_chosen(config, how):
    folder, _, env = config
    if how == "config":
        (folder / "config.json").write_text(json.dumps({"currentContext": "gone"}))
    else:
        env = dict(env, DOCKER_CONTEXT="gone")
    with pytest.raises(EngineError) as info:
        resolve(env)
    message = str(info.value)
    assert message.startswith('docker context "gone" does not exist (chosen by ')
    assert ("DOCKER_CONTEXT" if how == "DOCKER_CONTEXT" else "config.json") in message
    assert "\n" not in message
    # the CLI refuses it too
    assert subprocess.run(["docker", "context", "inspect", "gone"], env=env,
                          capture_output=True).returncode != 0


def test_the_cli_kargo_runs_is_pinned_to_the_endpoint(config):
    _, _, env = config
    named = cli_env(resolve(dict(env, DOCKER_CONTEXT="prod")), dict(env, DOCKER_CONTEXT="prod"))
    assert named["DOCKER_CONTEXT"] == "prod" and "DOCKER_HOST" not in named
    assert cli_says(named) == ("prod", "tcp://prod.example:2376")
    default = cli_env(resolve(env), env)
    assert default["DOCKER_HOST"] == DEFAULT_SOCKET and "DOCKER_CONTEXT" not in default


def test_describe_names_the_engine_and_how_but_no_password(config):
    _, _, env = config
    assert resolve(dict(env, DOCKER_CONTEXT="prod")).describe() == (
        "tcp://prod.example:2376 (context prod, chosen by DOCKER_CONTEXT, TLS)")
    # the CLI drops the user of a tcp:// address (cli_says), and with it a password
    assert resolve(dict(env, DOCKER_HOST="tcp://u:s3cr3t@h:1")).describe() == (
        "tcp://h:1 (chosen by DOCKER_HOST)")
    assert cli_says(dict(env, DOCKER_HOST="tcp://u:s3cr3t@h:1"))[1] == "tcp://h:1"
    with pytest.raises(EngineError) as info:  # an address refused: still no password
        resolve(dict(env, DOCKER_HOST="tcp://u:s3cr3t@h:1/x"))
    assert "s3cr3t" not in str(info.value) and "tcp://u:…@h:1/x" in str(info.value)
    assert resolve(env).describe() == f"{DEFAULT_SOCKET} (chosen by default)"


def test_kargo_with_an_unknown_context_fails_on_one_line(kargo, tmp_path):
    proc = kargo.run("deploy", check=False, env={
        "DOCKER_CONTEXT": "gone", "DOCKER_CONFIG": str(tmp_path / "docker")})
    assert proc.returncode != 0
    assert proc.stderr.splitlines() == [
        'kargo: deploy: docker context "gone" does not exist (chosen by DOCKER_CONTEXT; '
        "see docker context ls)"]
    # and show says which engine it would be, or why there is none
    shown = kargo.run("show", env={"DOCKER_CONTEXT": "gone",
                                   "DOCKER_CONFIG": str(tmp_path / "docker")}).stdout
    assert 'engine: none: docker context "gone" does not exist' in shown



# --- DOCKER_HOST as the CLI reads it: every row is asked of the docker CLI too --------
# Rows marked "hosts_test.go" are inputs of docker/cli's own tests (opts/hosts_test.go,
# TestParseHost and TestParseDockerDaemonHost), transcribed as data.

SAME = [  # (DOCKER_HOST, what the CLI and kargo both make of it)
    ("tcp://h:2376 ", "tcp://h:2376"),               # a blank after it: trimmed
    (" \tunix:///run/x.sock", "unix:///run/x.sock"),
    ("myhost:2375", "tcp://myhost:2375"),            # no scheme: tcp
    ("myhost", "tcp://myhost:2375"),
    ("tcp://", "tcp://localhost:2375"),               # hosts_test.go
    ("tcp://:2376", "tcp://localhost:2376"),          # hosts_test.go
    (":6666", "tcp://localhost:6666"),                # hosts_test.go
    ("0.0.0.1:", "tcp://0.0.0.1:2375"),               # hosts_test.go
    ("localhost:", "tcp://localhost:2375"),           # hosts_test.go
    ("tcp://host:", "tcp://host:2375"),               # hosts_test.go
    ("tcp://192.168:8080", "tcp://192.168:8080"),     # hosts_test.go
    ("tcp://docker.com:2375", "tcp://docker.com:2375"),  # hosts_test.go
    ("[::1]:", "tcp://[::1]:2375"),                   # hosts_test.go
    ("[0:0:0:0:0:0:0:1]:", "tcp://[0:0:0:0:0:0:0:1]:2375"),  # hosts_test.go
    ("tcp://[::1]:2376", "tcp://[::1]:2376"),         # brackets kept
    ("tcp://::1", "tcp://[::1]:2375"),
    ("tcp://user:pw@h:1", "tcp://h:1"),               # the user is dropped
    ("tcp://h:2376?x=1", "tcp://h:2376"),             # so is a query
    ("unix://", DEFAULT_SOCKET),                      # hosts_test.go
    ("unix:///run/docker.sock", "unix:///run/docker.sock"),  # hosts_test.go
    ("ssh://me@host:2222/run/x.sock", "ssh://me@host:2222/run/x.sock"),
    ("ssh://me@host:2222/run/x.sock ", "ssh://me@host:2222/run/x.sock"),
    ("ssh://host", "ssh://host"),
]
BOTH_REFUSE = [  # the CLI refuses them (`docker context inspect` fails), kargo too
    "tcp://[::1]", "TCP://h:1", "tcp://h:abc", "http://h:1", "tcp://h :1",
    "udp://127.0.0.1", "tcp://unix:///run/docker.sock", "something with spaces", "://",
    "unknown://", "tcp://:port", "tcp://invalid:port", "tcp:a.b.c.d",  # hosts_test.go
]
SSH_REFUSED = [  # the CLI refuses them when it connects ("invalid SSH URL"), kargo at once
    "ssh://u:p@h", "ssh://h?x=1", "ssh://h#f", "ssh://",
]
KARGO_REFUSES = [  # deliberately (README): what the CLI makes of them reaches no engine
    ("/var/run/docker.sock", "tcp://localhost:2375/var/run/docker.sock", "unix:///var/run"),
    ("localhost:5555/path", "tcp://localhost:5555/path", "under a path"),  # hosts_test.go
    ("tcp://h:99999", "tcp://h:99999", "between 1 and 65535"),
    ("tcp://0.0.0.0:1234567890", "tcp://0.0.0.0:1234567890", "between 1 and 65535"),
    ("tcp://h:0", "tcp://h:0", "between 1 and 65535"),
    ("fd://", "fd://", "fd://"),
    ("npipe://", "npipe:////./pipe/docker_engine", "npipe://"),
]


def cli_host(env, cwd=None):
    """(exit code, the host the CLI's default context has, its error)."""
    proc = subprocess.run(["docker", "context", "inspect", "--format",
                           "{{.Endpoints.docker.Host}}"], capture_output=True, text=True,
                          env=env, cwd=cwd)
    return proc.returncode, proc.stdout.strip(), proc.stderr.strip()


@pytest.fixture
def bare(tmp_path):
    """An environment with no docker configuration at all."""
    return {"PATH": os.environ["PATH"], "HOME": str(tmp_path),
            "DOCKER_CONFIG": str(tmp_path / "no-config")}


@pytest.mark.parametrize("value, host", SAME)
def test_docker_host_is_read_as_the_cli_reads_it(bare, value, host):
    env = dict(bare, DOCKER_HOST=value)
    assert cli_host(env) == (0, host, "")
    point = resolve(env)
    assert (point.host, point.context, point.chosen_by) == (host, "default", "DOCKER_HOST")


@pytest.mark.parametrize("value", BOTH_REFUSE)
def test_what_the_cli_refuses_kargo_refuses_on_one_line(bare, value):
    env = dict(bare, DOCKER_HOST=value)
    assert cli_host(env)[0] != 0
    with pytest.raises(EngineError) as info:
        resolve(env)
    message = str(info.value)
    assert "\n" not in message and message.endswith("(chosen by DOCKER_HOST)"), message


@pytest.mark.parametrize("value", SSH_REFUSED)
def test_an_ssh_address_the_cli_refuses_is_refused_before_any_connection(bare, value):
    proc = subprocess.run(["docker", "version"], capture_output=True, text=True, timeout=60,
                          env=dict(bare, DOCKER_HOST=value))
    assert proc.returncode != 0 and "invalid SSH URL" in proc.stderr, proc.stderr
    with pytest.raises(EngineError) as info:
        resolve(dict(bare, DOCKER_HOST=value))
    assert "\n" not in str(info.value) and "p@" not in str(info.value)


@pytest.mark.parametrize("value, cli, said", KARGO_REFUSES)
def test_what_kargo_refuses_deliberately(bare, value, cli, said):
    assert cli_host(dict(bare, DOCKER_HOST=value))[:2] == (0, cli)  # what the README says
    with pytest.raises(EngineError) as info:
        resolve(dict(bare, DOCKER_HOST=value))
    assert said in str(info.value) and "\n" not in str(info.value)


def test_a_relative_socket_is_the_clis_and_pinned_absolute(bare, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    env = dict(bare, DOCKER_HOST="unix://run/x.sock")
    assert cli_host(env, cwd=tmp_path) == (0, "unix://run/x.sock", "")
    point = resolve(env)
    assert point.host == f"unix://{tmp_path}/run/x.sock"
    assert cli_env(point, env)["DOCKER_HOST"] == point.host  # the same socket from any folder


def test_blanks_alone_are_the_default_context_as_for_the_cli(config):
    _, _, env = config
    env = dict(env, DOCKER_HOST="  ", DOCKER_CONTEXT="prod")
    assert cli_says(env) == ("default", DEFAULT_SOCKET)
    point = resolve(env)
    assert (point.context, point.host) == ("default", DEFAULT_SOCKET)


def test_tls_needs_its_authority_as_the_cli_does_verifying_or_not(bare, tmp_path, certs):
    empty = tmp_path / "empty"
    empty.mkdir()
    for tls in ({"DOCKER_TLS": "1"}, {"DOCKER_TLS_VERIFY": "1"}):
        for host in ("tcp://h:2376", "unix:///run/x.sock"):
            env = dict(bare, DOCKER_HOST=host, DOCKER_CERT_PATH=str(empty), **tls)
            code, _, error = cli_host(env)
            assert code != 0 and f"{empty}/ca.pem" in error
            with pytest.raises(EngineError) as info:
                resolve(env)
            assert f"{empty}/ca.pem does not exist" in str(info.value)
    # with its authority and no client pair: the CLI goes on, and so does kargo
    only_ca = tmp_path / "only-ca"
    only_ca.mkdir()
    (only_ca / "ca.pem").write_bytes((certs / "ca.pem").read_bytes())
    env = dict(bare, DOCKER_HOST="tcp://h:2376", DOCKER_CERT_PATH=str(only_ca), DOCKER_TLS="1")
    assert cli_host(env)[:2] == (0, "tcp://h:2376")
    assert resolve(env).tls == TLS(f"{only_ca}/ca.pem", None, None, False)
    # a socket takes no TLS (the CLI's default context on a unix host is plain)
    env = dict(env, DOCKER_HOST="unix:///run/x.sock")
    assert resolve(env).tls is None and cli_host(env)[:2] == (0, "unix:///run/x.sock")
    assert "DOCKER_TLS" not in cli_env(resolve(env), env)


# --- the workspace's .env chooses the engine (under the shell) -------------------------

def _project(kargo, extra=None):
    """The project of `kargo`, its shell without the machine's DOCKER_* but `extra`."""
    shell = {k: v for k, v in kargo.env.items() if k not in (
        "DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_TLS", "DOCKER_CERT_PATH")}
    shell.update(extra or {})
    return project_mod.load(kargo.root, shell), shell


def _engine_line(proc):
    return [line for line in proc.stdout.splitlines() if line.startswith("engine: ")]


def test_the_workspace_env_chooses_the_engine_and_show_says_so(kargo):
    env_file = kargo.workspace / ".env"
    write(env_file, "# prod\nDOCKER_HOST=tcp://prod-manager.example:2376\n")
    # (the machine's shell may set DOCKER_HOST, which would win: not here)
    env = {k: v for k, v in kargo.env.items() if k not in ("DOCKER_HOST", "DOCKER_CONTEXT")}
    proc = subprocess.run(kargo.command("show"), capture_output=True, text=True, env=env)
    assert _engine_line(proc) == [
        f"engine: tcp://prod-manager.example:2376 (chosen by DOCKER_HOST in the workspace "
        f".env {env_file}:2)"], proc.stdout + proc.stderr
    # the shell still wins
    proc = subprocess.run(kargo.command("show"), capture_output=True, text=True,
                          env=dict(env, DOCKER_HOST="tcp://shell.example:2375"))
    assert _engine_line(proc) == ["engine: tcp://shell.example:2375 (chosen by DOCKER_HOST)"]


def test_the_defaults_env_file_chooses_it_too_and_the_workspace_beats_it(kargo):
    defaults = kargo.root / "defaults" / ".env.default"
    defaults.write_text(defaults.read_text() + "DOCKER_HOST=tcp://defaults.example\n")
    project, shell = _project(kargo)
    point = resolve(*project_mod.engine_settings(project))
    assert point.host == "tcp://defaults.example:2375"
    assert point.chosen_by.startswith(f"DOCKER_HOST in the defaults env file {defaults}:")
    write(kargo.workspace / ".env", "DOCKER_CONTEXT=somewhere\nDOCKER_HOST=ws.example:1\n")
    project, shell = _project(kargo)
    assert resolve(*project_mod.engine_settings(project)).host == "tcp://ws.example:1"


def test_an_engine_the_shell_names_is_the_one(kargo, config):
    """`DOCKER_CONTEXT=plain doit deploy` with a workspace .env that sets
    DOCKER_HOST: the shell's context (DOCKER_HOST would beat it for the CLI)."""
    folder, _, _ = config
    write(kargo.workspace / ".env", "DOCKER_HOST=tcp://prod.example:2376\n")
    project, shell = _project(kargo, {"DOCKER_CONTEXT": "plain", "DOCKER_CONFIG": str(folder)})
    point = resolve(*project_mod.engine_settings(project))
    assert (point.context, point.host, point.chosen_by) == (
        "plain", "tcp://plain.example:2375", "DOCKER_CONTEXT")
    assert "DOCKER_HOST" not in cli_env(point, project.env.as_dict())
    project, shell = _project(kargo, {"DOCKER_HOST": "tcp://shell.example:1"})
    assert resolve(*project_mod.engine_settings(project)).host == "tcp://shell.example:1"


def test_a_context_and_relative_folders_from_the_workspace_env(kargo, certs):
    """DOCKER_CONFIG and DOCKER_CERT_PATH written relative in the workspace
    .env start in the workspace (as the bash Kargo, run from there, read them)."""
    ws = kargo.workspace
    cli = {"PATH": os.environ["PATH"], "HOME": str(ws), "DOCKER_CONFIG": str(ws / "docker")}
    subprocess.run(["docker", "context", "create", "prod", "--docker",
                    f"host=tcp://prod.example:2376,ca={certs}/ca.pem"], env=cli, check=True,
                   capture_output=True)
    write(ws / ".env", "DOCKER_CONFIG=docker\nDOCKER_CONTEXT=prod\n")
    project, shell = _project(kargo)
    point = resolve(*project_mod.engine_settings(project))
    assert (point.host, point.context, point.config) == (
        "tcp://prod.example:2376", "prod", str(ws / "docker"))
    assert point.chosen_by == f"DOCKER_CONTEXT in the workspace .env {ws}/.env:2"
    pinned = cli_env(point, shell)
    assert cli_says(pinned) == ("prod", "tcp://prod.example:2376")  # the CLI kargo runs
    # certificates beside the workspace
    (ws / "certs").mkdir()
    for name in ("ca.pem", "cert.pem", "key.pem"):
        (ws / "certs" / name).write_bytes((certs / name).read_bytes())
    write(ws / ".env", "DOCKER_HOST=tcp://prod.example:2376\nDOCKER_TLS_VERIFY=1\n"
                       "DOCKER_CERT_PATH=certs\n")
    project, shell = _project(kargo)
    point = resolve(*project_mod.engine_settings(project))
    assert point.tls == TLS(f"{ws}/certs/ca.pem", f"{ws}/certs/cert.pem", f"{ws}/certs/key.pem",
                            True)
    pinned = cli_env(point, dict(shell, DOCKER_CERT_PATH="certs"))  # a hook's env has it raw
    assert (pinned["DOCKER_HOST"], pinned["DOCKER_CERT_PATH"], pinned["DOCKER_TLS_VERIFY"]) == (
        "tcp://prod.example:2376", f"{ws}/certs", "1")
    assert cli_host(pinned, cwd="/")[:2] == (0, "tcp://prod.example:2376")  # from any folder


def test_a_broken_env_still_names_its_engine(kargo):
    """A run whose environment cannot be read (STACKS set twice) still talks
    to the engine the workspace names, never to the default one."""
    write(kargo.workspace / ".env", 'STACKS="web"\nDOCKER_HOST="tcp://prod.example:2376"\n'
                                     'STACKS="web"\nOTHER=${UNDEFINED}\n')
    project, shell = _project(kargo)
    assert project.error is not None
    assert resolve(*project_mod.engine_settings(project)).host == "tcp://prod.example:2376"
    write(kargo.workspace / ".env", 'DOCKER_HOST="tcp://${UNDEFINED}:2376"\n')
    project, shell = _project(kargo)
    with pytest.raises(EngineError) as info:
        project_mod.engine_settings(project)
    assert str(info.value).startswith("cannot choose the Docker engine: ")
    assert "UNDEFINED" in str(info.value)


def test_an_unreachable_engine_in_the_workspace_env_is_one_line_naming_it(kargo, tmp_path):
    gone = tmp_path / "gone.sock"
    write(kargo.workspace / ".env", f'DOCKER_HOST="unix://{gone} "\n')
    env = {k: v for k, v in kargo.env.items() if k not in ("DOCKER_HOST", "DOCKER_CONTEXT")}
    proc = subprocess.run(kargo.command("deploy"), capture_output=True, text=True, env=env)
    assert proc.returncode != 0
    assert proc.stderr.splitlines() == [
        f"kargo: deploy: the Docker engine is not answering on unix://{gone} (chosen by "
        f"DOCKER_HOST in the workspace .env {kargo.workspace}/.env:1) (start dockerd, e.g. "
        "bash scripts/engine-up, or choose another engine with DOCKER_HOST or DOCKER_CONTEXT)"
    ], proc.stderr
    write(kargo.workspace / ".env", "DOCKER_HOST=/var/run/docker.sock\n")
    proc = subprocess.run(kargo.command("deploy"), capture_output=True, text=True, env=env)
    assert proc.returncode != 0 and len(proc.stderr.splitlines()) == 1, proc.stderr
    assert "write unix:///var/run/docker.sock" in proc.stderr
