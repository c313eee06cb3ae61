"""The pure parts of `logs:<stack>`: the engine's log stream read, what a
line shows, what it hides, what the operator typed, and the run lock."""
import struct

import pytest

from kargo_tasks.base.commandline import wanted
from kargo_tasks.base.errors import KargoError
from kargo_tasks.engine import logs as engine_logs
from kargo_tasks.operations import logs
from kargo_tasks.workspace.environment import Environment

DETAILS = "com.docker.swarm.node.id=n1,com.docker.swarm.service.id=s1,com.docker.swarm.task.id=t1"


def frame(stream, text):
    data = text.encode()
    return bytes([stream, 0, 0, 0]) + struct.pack(">I", len(data)) + data


def reader(data):
    at = [0]

    def read(n):
        chunk = data[at[0]:at[0] + n]
        at[0] += len(chunk)
        return chunk
    return read


def test_a_multiplexed_body_is_read_frame_by_frame():
    body = frame(1, f"2026-12-02T15:00:00.000000001Z {DETAILS} hello\n") + \
        frame(2, f"2026-12-02T15:00:00.000000002Z {DETAILS} oops a b\n") + b"\x01\x00"
    found = [engine_logs.parse(*f) for f in engine_logs.frames(reader(body))]
    assert found == [
        engine_logs.Line("2026-12-02T15:00:00.000000001Z", "t1", "n1", 1, "hello"),
        engine_logs.Line("2026-12-02T15:00:00.000000002Z", "t1", "n1", 2, "oops a b")]


def test_a_tty_body_is_read_line_by_line():
    body = b"a\nbc\nd"
    assert list(engine_logs.raw_lines(reader(body))) == [(1, b"a"), (1, b"bc"), (1, b"d")]
    # what the engine sends for a service with `tty: true` (seen on dockerd 20.10)
    line = f"2026-12-02T15:53:28.902899856Z {DETAILS} tty line one\r".encode()
    assert engine_logs.parse(1, line).text == "tty line one"


def test_details_are_url_encoded_pairs_and_a_line_without_a_task_is_left():
    assert engine_logs.details("a=1,b=x%2Cy") == {"a": "1", "b": "x,y"}
    assert engine_logs.parse(1, b"2026 nodetails text") is None


def test_a_label_names_the_slot_or_node_only_where_there_are_several():
    one = {"Mode": {"Replicated": {"Replicas": 1}}}
    two = {"Mode": {"Replicated": {"Replicas": 2}}}
    everywhere = {"Mode": {"Global": {}}}
    job = {"Mode": {"ReplicatedJob": {"MaxConcurrent": 1, "TotalCompletions": 3}}}
    assert [logs.several(s) for s in (one, two, everywhere, job)] == [None, "slot", "node", "slot"]
    assert logs.prefix("web", None, 1, "node-1") == "web"
    assert logs.prefix("web", "slot", 2, "node-1") == "web.2"
    assert logs.prefix("agent", "node", 0, "node-1") == "agent@node-1"


def test_a_line_is_its_label_padded_then_its_masked_text():
    line = engine_logs.Line("2026-12-02T15:00:00.000000001Z", "t", "n", 1, "pw=hunter22 ok")
    assert logs.render(line, "web", 6, ["hunter22"]) == "web    | pw=*** ok"
    assert logs.render(line, "web", 3, [], timestamps=True) == \
        "2026-12-02T15:00:00.000000001Z web | pw=hunter22 ok"


def test_interleaved_by_time_each_service_keeping_its_order():
    a1 = engine_logs.Line("2026-01-01T00:00:01.000000000Z", "a", "", 1, "a1")
    a2 = engine_logs.Line("2026-01-01T00:00:03.000000000Z", "a", "", 1, "a2")
    b1 = engine_logs.Line("2026-01-01T00:00:02.000000000Z", "b", "", 1, "b1")
    same = engine_logs.Line("2026-01-01T00:00:03.000000000Z", "a", "", 1, "a3")
    found = logs.interleave([(a1, "a"), (a2, "a"), (same, "a"), (b1, "b")])
    assert [(x.text, s) for x, s in found] == [("a1", "a"), ("b1", "b"), ("a2", "a"), ("a3", "a")]


def test_hidden_values_are_the_environment_but_public_and_shell_only_ones():
    env = Environment({"PASSWORD": "hunter22", "KARGO_PUBLIC": "*_TAG", "WEB_TAG": "1.2.3",
                       "HOME": "/root", "EXPORTED": "from-shell-pw", "CERT": "line one\nline two"},
                      {"PASSWORD": "/ws/.env:1", "KARGO_PUBLIC": "/ws/.env:2",
                       "WEB_TAG": "/ws/.env:3", "HOME": "shell", "EXPORTED": "shell",
                       "CERT": "/ws/.env:4"})
    specs = [{"TaskTemplate": {"ContainerSpec": {"Env": ["PW=from-shell-pw"]}}}]
    found = logs.hidden(env, specs, ["file secret\n"])
    assert "hunter22" in found and "from-shell-pw" in found and "file secret" in found
    assert "line one" in found and "line two" in found
    assert "1.2.3" not in found and "/root" not in found


@pytest.mark.parametrize("typed, expected", [
    ("10m", 1000.0 - 600), ("1h30m", 1000.0 - 5400), ("90s", 1000.0 - 90), ("1.5s", 998.5)])
def test_since_a_duration_counts_back_from_now(typed, expected):
    assert float(logs.since_value(typed, 1000.0)) == pytest.approx(expected)


def test_since_a_time_or_seconds():
    assert float(logs.since_value("2026-12-02T15:00:00Z", 0)) == 1796223600.0
    assert logs.since_value("1700000000", 0) == "1700000000"
    with pytest.raises(KargoError, match="--since 'yesterday'"):
        logs.since_value("yesterday", 0)


def test_tail_is_all_or_a_number():
    assert logs.tail_value("") == "all" and logs.tail_value("20") == "20"
    with pytest.raises(KargoError):
        logs.tail_value("-3")


def test_a_command_line_of_logs_tasks_only_takes_no_run_lock():
    assert not wanted(["-f", "dodo.py", "logs:kano", "--since", "10m", "--follow"])
    assert not wanted(["run", "logs:kano:api", "--tail", "5", "logs:ows"])
    assert wanted(["logs:kano", "deploy"])  # a deploy with it: the lock
    assert wanted(["deploy:kano"]) and wanted([])


def test_what_kargo_prints_anyway_is_not_masked_but_an_encrypted_value_always_is():
    from kargo_tasks.workspace.catalog import Catalog, Image, Stack
    catalog = Catalog({"web": Stack("web", ("front", "api"), ())}, {"app": Image("app", "x", ())})
    printed = logs.printed_anyway(catalog)
    assert {"STACKS", "WEB_STACK", "WEB_DEPENDS", "FRONT_IMAGE", "API_TAG", "APP_IMAGE",
            "API_REPLICAS", "DOCKER_HOST", "DOCKER_PORT_MODE", "KARGO_DEPLOY_TIMEOUT"} <= printed
    assert "FRONT_ARCHIVE" not in printed and "GREETING" not in printed
    env = Environment({"WEB_STACK": "front api", "PASSWORD": "hunter22", "FRONT_TAG": "sealed-1"},
                      {"WEB_STACK": "/d/.env.default:1", "PASSWORD": "/ws/.env:1",
                       "FRONT_TAG": "/ws/.env.age:1"})
    found = logs.hidden(env, [], [], printed)
    assert "front api" not in found and "hunter22" in found and "sealed-1" in found
