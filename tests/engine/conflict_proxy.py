"""A conflicting writer on the real engine, at a chosen moment.

`ConflictProxy` is a unix socket in front of the engine's (kargo and the
docker CLI talk to it through DOCKER_HOST) that passes every request through
unchanged, one request per connection. Before each of the first `times`
requests that update a node (or a service), it updates that object itself,
through the engine's own socket: the request, which names the version it
read, then meets a newer one, and the engine refuses it ("update out of
sequence"), as it would when another operator or tool wrote in between.
"""
import os
import re
import socket
import subprocess
import threading

import docker

from support import UnixServer

UPSTREAM = "/var/run/docker.sock"
UPDATE = re.compile(rb"^POST /v[0-9.]+/(nodes|services)/([^/?]+)/update")


class ConflictProxy(UnixServer):
    def __init__(self, kind, times):
        self.kind, self.pending = kind.encode(), times
        self.bumped = []     # the ids it updated before passing a request on
        self.refused = 0     # answers saying "update out of sequence"
        self._client = docker.DockerClient(base_url=f"unix://{UPSTREAM}")
        self._lock = threading.Lock()
        super().__init__("kt-conflict-")

    def accepted(self, conn):
        threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn):
        try:
            head, body = _read_request(conn)
            match = UPDATE.match(head)
            if match and match.group(1) == self.kind:
                with self._lock:
                    bump = self.pending > 0
                    self.pending -= bump
                if bump:
                    self._bump(match.group(2).decode())
            lines = [line for line in head.split(b"\r\n")
                     if not line.lower().startswith(b"connection:")]
            request = b"\r\n".join(lines + [b"Connection: close", b"", b""]) + body
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as up:
                up.connect(UPSTREAM)
                up.sendall(request)
                first = True
                while chunk := up.recv(65536):
                    if first and b"out of sequence" in chunk and not chunk.startswith(
                            b"HTTP/1.1 2"):
                        with self._lock:
                            self.refused += 1
                    first = False
                    conn.sendall(chunk)
        except OSError:
            pass
        finally:
            conn.close()

    def _bump(self, ident):
        """Update the object as another writer would (a label of its own)."""
        self.bumped.append(ident)
        label = f"kt-conflict={len(self.bumped)}"
        if self.kind == b"nodes":
            node = self._client.api.inspect_node(ident)
            spec = dict(node["Spec"], Labels=dict(node["Spec"].get("Labels") or {},
                                                  **dict([label.split("=")])))
            self._client.api.update_node(ident, node["Version"]["Index"], spec)
        else:
            env = {k: v for k, v in os.environ.items() if k not in ("DOCKER_HOST",
                                                                    "DOCKER_CONTEXT")}
            subprocess.run(["docker", "service", "update", "--detach", "--label-add", label,
                            ident], check=True, capture_output=True, env=env)

    def close(self):
        super().close()
        self._client.close()


def _read_request(conn):
    """(request line and headers, body) of one HTTP/1.1 request."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            raise OSError("closed before the headers ended")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in
               (line.partition(b":") for line in head.split(b"\r\n")[1:])}
    if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
        while not rest.endswith(b"0\r\n\r\n"):
            chunk = conn.recv(65536)
            if not chunk:
                raise OSError("closed in a chunked body")
            rest += chunk
        return head, rest
    length = int(headers.get(b"content-length", b"0"))
    while len(rest) < length:
        chunk = conn.recv(65536)
        if not chunk:
            raise OSError("closed in the body")
        rest += chunk
    return head, rest
