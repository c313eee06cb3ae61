"""A service's log lines as the engine gives them: `GET /services/<id>/logs`
with the task, node and service of each line (`details`) and its time, as
`docker service logs` asks for them (docker/cli
cli/command/service/logs.go: it always asks for the details, to name the
task a line came from, and reads the multiplexed stream unless the service
has a tty)."""
import struct
import urllib.parse
from collections.abc import Callable, Iterator
from typing import NamedTuple

from . import client as engine

HEADER = 8  # a frame of a multiplexed stream: stream (1 byte), 3 zeros, size (uint32 BE)


class Line(NamedTuple):
    """One log line of a task."""
    time: str    # RFC 3339 with nanoseconds, fixed width: sorts as time does
    task: str    # the task's id
    node: str    # the node's id
    stream: int  # 1 stdout, 2 stderr
    text: str    # without its line ending


def frames(read: Callable[[int], bytes]) -> Iterator[tuple[int, bytes]]:
    """(stream, payload) of each frame of a multiplexed body (`read(n)`:
    exactly n bytes, fewer at its end)."""
    while True:
        header = read(HEADER)
        if len(header) < HEADER:
            return
        kind, size = header[0], struct.unpack(">I", header[4:])[0]
        payload = read(size) if size else b""
        if len(payload) < size:
            return
        yield kind, payload


def raw_lines(read1: Callable[[int], bytes]) -> Iterator[tuple[int, bytes]]:
    """(1, line) of a body that is not multiplexed (a service with a tty)."""
    rest = b""
    while True:
        chunk = read1(65536)
        if not chunk:
            break
        rest += chunk
        *whole, rest = rest.split(b"\n")
        for line in whole:
            yield 1, line
    if rest:
        yield 1, rest


def details(text: str) -> dict[str, str]:
    """The details the engine puts before a message: `k=v,k2=v2`, each part
    URL-encoded (as docker/cli's service/logs.ParseLogDetails reads them)."""
    found = {}
    for pair in text.split(","):
        key, sep, value = pair.partition("=")
        if sep:
            found[urllib.parse.unquote(key)] = urllib.parse.unquote(value)
    return found


def parse(stream: int, payload: bytes) -> Line | None:
    """A Line of one message `TIME DETAILS TEXT`, None when it does not read so."""
    text = payload.decode("utf-8", "replace")
    if text.endswith("\n"):
        text = text[:-1]
    if text.endswith("\r"):  # a tty's line ending
        text = text[:-1]
    parts = text.split(" ", 2)
    if len(parts) < 2:
        return None
    time, attrs = parts[0], details(parts[1])
    if "com.docker.swarm.task.id" not in attrs:
        return None
    return Line(time, attrs["com.docker.swarm.task.id"], attrs.get("com.docker.swarm.node.id", ""),
                stream, parts[2] if len(parts) > 2 else "")


class ServiceLogs:
    """The log lines of one service (`service`: the engine's service), read
    as they come; `close()` (from any thread) ends them."""

    def __init__(self, service: dict, *, follow: bool = False, since: str = "",
                 tail: str = "all") -> None:
        self.name = service["Spec"]["Name"]
        self.tty = bool(service["Spec"].get("TaskTemplate", {}).get("ContainerSpec", {})
                        .get("TTY"))
        params: dict = {"stdout": True, "stderr": True, "timestamps": True, "details": True,
                        "follow": follow, "tail": tail or "all"}
        if since:
            params["since"] = since
        self._stream = engine.stream(f"logs of service {self.name}",
                                     f"/services/{service['ID']}/logs", **params)

    def __iter__(self) -> Iterator[Line]:
        messages = (raw_lines(self._stream.read1) if self.tty else frames(self._stream.read))
        for stream, payload in messages:
            line = parse(stream, payload)
            if line is not None:
                yield line

    def close(self) -> None:
        self._stream.close()
