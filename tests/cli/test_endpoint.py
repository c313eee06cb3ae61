"""endpoint.resolve chooses the engine the docker CLI chooses. Each case is
also asked of the docker CLI itself (`docker context show`, `docker context
inspect`, which ask no engine), with contexts the CLI made: kargo is held to
the CLI, not to our reading of its documentation."""
import json
import os
import subprocess

import pytest

from kargo_tasks.endpoint import DEFAULT_SOCKET, TLS, cli_env, resolve
from kargo_tasks.errors import EngineError


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
    assert resolve(dict(env, DOCKER_HOST="tcp://u:s3cr3t@h:1")).describe() == (
        "tcp://u:…@h:1 (chosen by DOCKER_HOST)")
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
