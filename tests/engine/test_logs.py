"""`doit logs:<stack>` on the real Swarm: the lines of a stack's services
interleaved by time and prefixed with their service (and slot), one service
alone, `--since`, `--follow` ended by Ctrl-C, and no value of the
environment or of `secrets/` in any line."""
import re
import signal
import time

import pytest

from stack_fixtures import stackenv  # noqa: F401
from support import write

pytestmark = pytest.mark.slow

TOKEN = "tok-s3cr3t-logs-9Qz"        # a value of the workspace .env a service prints
FILE_SECRET = "pw-file-s3cr3t-7Kx"   # the text of secrets/db_password, printed by cache

WEB = """
version: "3.8"
services:
  web:
    image: ${BUSYBOX}
    command: ["sh", "-c", "for i in 1 2 3; do echo \\"web says $$i token=$$TOKEN\\"; sleep 0.4; done; exec sleep 3600"]
    stop_grace_period: 1s
    environment:
      TOKEN: ${API_TOKEN}
    deploy:
      replicas: 2
      endpoint_mode: dnsrr
    networks: [back]
networks:
  back:
    external: true
    name: ${DOCKER_BACK_NETWORK}
"""

CACHE = """
version: "3.8"
services:
  cache:
    image: ${BUSYBOX}
    command: ["sh", "-c", "echo \\"cache password $$(cat /run/secrets/db_pw)\\" >&2; i=0; while true; do i=$$((i+1)); echo \\"cache tick $$i\\"; sleep 0.5; done"]
    stop_grace_period: 1s
    secrets:
      - source: db_pw
    deploy:
      replicas: 1
      endpoint_mode: dnsrr
    networks: [back]
networks:
  back:
    external: true
    name: ${DOCKER_BACK_NETWORK}
secrets:
  db_pw:
    file: ../secrets/db_password
"""

LINE = re.compile(r"^(\S+) (\S+)\s*\| (.*)$")  # with --timestamps: time, label, text


def lines(text):
    """[(time, label, text)] of a run's output with --timestamps."""
    found = []
    for raw in text.splitlines():
        match = LINE.match(raw)
        assert match, f"not a log line: {raw!r}"
        found.append(match.groups())
    return found


def ticks(found):
    return [int(text.split()[-1]) for _t, label, text in found if text.startswith("cache tick")]


@pytest.fixture
def printing(stackenv):
    """Stack a deployed: `web` (2 replicas) prints 3 lines with the token,
    `cache` its secret file's text on stderr, then a tick every 0.5 s."""
    env = stackenv
    write(env.kargo.workspace / "deploy/web.yml", WEB)
    write(env.kargo.workspace / "deploy/cache.yml", CACHE)
    write(env.kargo.workspace / "secrets/db_password", FILE_SECRET + "\n")
    env.set_env(f"API_TOKEN={TOKEN}\n")
    env.run(f"deploy:{env.a}")
    deadline = time.monotonic() + 30
    while True:  # every task has printed what it prints first
        out = env.run(f"logs:{env.a}").stdout
        if out.count("web says 3") == 2 and "cache tick 2" in out:
            return env
        assert time.monotonic() < deadline, out
        time.sleep(0.5)


def test_logs_of_a_stack_interleave_its_services_by_time_with_their_names(printing):
    env = printing
    proc = env.run(f"logs:{env.a}", "--timestamps")
    found = lines(proc.stdout)
    assert proc.stderr == ""
    times = [t for t, _l, _x in found]
    assert times == sorted(times), "not in the order of their times"
    labels = {label for _t, label, _x in found}
    assert labels == {"web.1", "web.2", "cache"}, labels  # a slot where there are several
    for slot in ("web.1", "web.2"):
        said = [text for _t, label, text in found if label == slot]
        assert said == [f"web says {i} token=***" for i in (1, 2, 3)], said
    assert "cache password ***" in [text for _t, label, text in found if label == "cache"], found
    # the services' lines are interleaved, not one service after the other
    order = [label.split(".")[0] for _t, label, _x in found]
    assert order.index("cache") < max(i for i, name in enumerate(order) if name == "web")
    # without --timestamps: the labels padded to one width, then ` | `
    plain = env.run(f"logs:{env.a}").stdout.splitlines()
    assert "web.1 | web says 1 token=***" in plain
    assert any(line.startswith("cache | cache tick") for line in plain)
    for text in (proc.stdout, proc.stderr, "\n".join(plain)):
        assert TOKEN not in text and FILE_SECRET not in text


def test_logs_of_one_service_and_since(printing):
    env = printing
    only = lines(env.run(f"logs:{env.a}:cache", "--timestamps").stdout)
    assert only and {label for _t, label, _x in only} == {"cache"}
    # web printed its lines more than 3 s ago; cache ticks every 0.5 s
    time.sleep(4)
    recent = lines(env.run(f"logs:{env.a}", "--since", "2s", "--timestamps").stdout)
    assert recent and all(label == "cache" for _t, label, _x in recent), recent
    assert 2 <= len(ticks(recent)) <= 6, recent
    last = lines(env.run(f"logs:{env.a}:web", "--tail", "1", "--timestamps").stdout)
    assert sorted(text for _t, _l, text in last) == ["web says 3 token=***"] * 2
    bad = env.run(f"logs:{env.a}", "--since", "yesterday", check=False)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    assert bad.stderr.strip().startswith(f"kargo: logs:{env.a}: --since 'yesterday': give")


def test_logs_follow_until_ctrl_c_and_hold_no_lock(printing, background):
    env = printing
    before = max(ticks(lines(env.run(f"logs:{env.a}:cache", "--timestamps").stdout)))
    run = background(env.kargo, f"logs:{env.a}", "--follow", "--timestamps")
    run.wait_for(lambda: ticks(lines(run.stdout)) and max(ticks(lines(run.stdout))) > before + 2,
                 what="lines that came after the run started")
    # a followed log holds no run lock: a deploy runs meanwhile
    assert env.run(f"deploy:{env.a}").returncode == 0
    run.signal(signal.SIGINT)
    assert run.finish() == 0
    assert run.stderr == "", run.stderr  # no traceback, no error line
    found = lines(run.stdout)
    seen = ticks(found)
    assert seen == sorted(seen) and seen[0] == 1  # what came before, then what came
    assert {"web.1", "web.2"} <= {label for _t, label, _x in found}
    assert TOKEN not in run.stdout and FILE_SECRET not in run.stdout


GLOBAL = """
version: "3.8"
services:
  worker:
    image: ${BUSYBOX}
    command: ["sh", "-c", "echo worker here; exec sleep 3600"]
    stop_grace_period: 1s
    deploy:
      mode: global
      endpoint_mode: dnsrr
    networks: [back]
networks:
  back:
    external: true
    name: ${DOCKER_BACK_NETWORK}
"""


def test_a_global_service_names_the_node_of_each_line(stackenv):
    env = stackenv
    write(env.kargo.workspace / "deploy/worker.yml", GLOBAL)
    env.run(f"deploy:{env.b}")
    node = env.client.info()["Name"]  # a single-node swarm: the one task's node
    deadline = time.monotonic() + 30
    while "worker here" not in (out := env.run(f"logs:{env.b}").stdout):
        assert time.monotonic() < deadline, out
        time.sleep(0.5)
    assert out == f"worker@{node} | worker here\n"
