"""A value of the environment that a template puts in a config, and a config
made from a file under `secrets/`, never show: not in `doit plan`, `deploy`,
`rollback:<stack>` or an atomic rollback, not in the doit database or the
state files, old values (which kargo no longer knows) as well as new ones;
the diff still names each line that changed, the value masked as `***`."""
import pytest

from stack_fixtures import stackenv  # noqa: F401
from support import write

pytestmark = pytest.mark.slow

WOULD_RUN = 4

APP_YML = """
version: "3.8"
services:
  app:
    image: ${BUSYBOX}
    command: ["sleep", "${APP_SLEEP}"]
    stop_grace_period: 1s
    configs:
      - source: mapproxy
        target: /etc/mapproxy.yaml
      - source: app_json
        target: /etc/app.json
      - source: app_key
        target: /etc/app.key
    deploy:
      replicas: 1
      endpoint_mode: dnsrr
      restart_policy:
        delay: 1s
    networks: [back]
networks:
  back:
    external: true
    name: ${DOCKER_BACK_NETWORK}
configs:
  mapproxy:
    file: ../configs/mapproxy/mapproxy.yaml
  app_json:
    file: ../configs/app/app.json
  app_key:
    file: ../secrets/app.key
"""

# the forms a config carries a value in: a whole line, inside a URL, quoted,
# inside other text, JSON-escaped and YAML-escaped (the value holds a quote
# and a backslash), URL-encoded; LEVEL is declared public and shows
MAPPROXY_TPL = """\
motd: |
  ${MOTD}
globals:
  cache:
    url: postgresql://kargo:${DB_PASSWORD}@db:5432/kargo
  token: "${S3_KEY}"
  bucket: tiles${S3_KEY}cache
  level: ${LEVEL}
"""

APP_JSON_J2 = """\
{
  "motd": "{{ MOTD }}",
  "password": {{ DB_PASSWORD | tojson }},
  "yaml": "{{ DB_PASSWORD | replace('\\\\', '\\\\\\\\') | replace('"', '\\\\"') }}",
  "url": "postgresql://kargo:{{ DB_PASSWORD | urlencode }}@db/kargo",
  "level": {{ LEVEL }}
}
"""


def values(v):
    """The canaries of version `v`: each holds a core no escaping changes."""
    return {"DB_PASSWORD": f'pw-CanaryDb{v}x-"q\\z', "S3_KEY": f"CanaryS3{v}x",
            "MOTD": f"CanaryMotd{v}x", "KEY": f"CanaryKeyFile{v}x"}


def cores(*versions):
    return [f"Canary{kind}{v}x" for v in versions for kind in ("Db", "S3", "Motd", "KeyFile")]


@pytest.fixture
def masked(stackenv):
    env = stackenv
    p = env.prefix(env.a)
    write(env.kargo.root / "defaults/.env.default", "\n".join([
        f"STACKS={env.a}", f"{p}_STACK=app", f"DOCKER_BACK_NETWORK={env.back}",
        "KARGO_DEPLOY_TIMEOUT=40", f"BUSYBOX={env.image}", "APP_SLEEP=3600",
        "KARGO_PUBLIC=LEVEL"]) + "\n")
    write(env.kargo.root / "defaults/deploy/app.yml", APP_YML)
    write(env.kargo.workspace / "configs/mapproxy/mapproxy.yaml.tpl", MAPPROXY_TPL)
    write(env.kargo.workspace / "configs/app/app.json.j2", APP_JSON_J2)
    env.p = p
    env.app = env.service(env.a, "app")
    return env


def version(env, v, *extra):
    canary = values(v)
    write(env.kargo.workspace / "secrets/app.key", canary.pop("KEY") + "\n")
    lines = [f"{name}='{value}'" for name, value in canary.items()]
    env.set_env("\n".join(lines + [f"LEVEL={v}", *extra]) + "\n")


def clean(proc, *versions):
    """The whole output of a run holds no canary of `versions`, in any form."""
    out = proc.stdout + proc.stderr
    for core in cores(*versions):
        assert core not in out, f"{core} printed:\n{out}"
    return out


def shown(out):
    """The lines of `out`, a diff line as its sign and its text unindented."""
    lines = []
    for line in out.splitlines():
        line = line.strip()
        if line[:1] in ("-", "+") and line[:3] not in ("---", "+++"):
            line = line[0] + line[1:].strip()
        lines.append(line)
    return lines


def test_no_value_a_template_put_in_a_config_is_printed_or_stored(masked):
    env = masked
    version(env, 1)
    clean(env.run("deploy"), 1)
    # the config versions on the engine carry which spans of them to hide
    labels = {c["Spec"]["Name"]: c["Spec"]["Labels"].get("org.kargo.masked")
              for c in env.client.api.configs(filters={"label": f"com.docker.stack.namespace="
                                                                 f"{env.project(env.a)}"})}
    assert len(labels) == 3 and all(labels[n] not in (None, "none") for n in labels), labels
    assert "all" in labels.values()  # the config made from secrets/app.key

    version(env, 2)
    plan = env.run("plan", check=False)
    assert plan.returncode == WOULD_RUN, plan.stderr
    lines = shown(clean(plan, 1, 2))
    # each line that changed is named, the values masked on both sides
    for line in ("config /etc/mapproxy.yaml changed:", "-***", "+***",
                 "-url: postgresql://kargo:***@db:5432/kargo",
                 "+url: postgresql://kargo:***@db:5432/kargo",
                 '-token: "***"', '+token: "***"', "-bucket: tiles***cache",
                 "-level: 1", "+level: 2",
                 "config /etc/app.json changed:", '-"motd": "***",', '+"password": ***,',
                 '-"yaml": "***",', '+"url": "postgresql://kargo:***@db/kargo",',
                 '-"level": 1', '+"level": 2',
                 "config /etc/app.key changed:"):
        assert line in lines, (line, plan.stdout)

    clean(env.run("deploy"), 1, 2)

    back = env.run(f"rollback:{env.a}")
    lines = shown(clean(back, 1, 2))
    assert "-url: postgresql://kargo:***@db:5432/kargo" in lines, back.stdout
    assert "-level: 2" in lines and "+level: 1" in lines, back.stdout

    # an atomic stack whose new version crash-loops: rolled back, printed masked
    version(env, 3, f"{env.p}_ATOMIC=true", "APP_SLEEP=not-a-number")
    failed = env.run("deploy", check=False)
    assert failed.returncode != 0
    out = clean(failed, 1, 2, 3)
    assert f"stack {env.a} was rolled back to the version that ran before" in out, out
    assert "-url: postgresql://kargo:***@db:5432/kargo" in shown(out), out
    assert "-level: 3" in shown(out) and "+level: 1" in shown(out), out

    # nothing kargo keeps beside the merged files holds a value: the doit
    # database, the records, the version history, the stack files
    kept = [p for top in ("stacks", ".state") for p in (env.kargo.merged / top).rglob("*")
            if p.is_file()]
    assert any(p.name.startswith("doit") for p in kept), kept
    for path in kept:
        data = path.read_bytes()
        for core in cores(1, 2, 3):
            assert core.encode() not in data, f"{core} in {path}"
