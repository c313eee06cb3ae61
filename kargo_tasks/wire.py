"""A small HTTP/1.1 client for the questions a run asks: GET and HEAD over one
kept-alive socket (the engine's unix socket, a loopback registry).

http.client would do, but it imports the email package to parse headers, and
a no-op run is mostly Python starting up: every import counts.
"""
import socket


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-case names
        self.body = body


class Connection:
    """One server; `connect()` returns a connected socket. A kept-alive
    socket the server closed meanwhile is replaced once (GET and HEAD are
    safe to send again)."""

    def __init__(self, connect):
        self._connect = connect
        self._sock = None
        self._buf = b""

    def close(self):
        if self._sock is not None:
            self._sock.close()
        self._sock, self._buf = None, b""

    def request(self, method, path, headers=None):
        lines = [f"{method} {path} HTTP/1.1", "Host: localhost"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        data = ("\r\n".join(lines) + "\r\n\r\n").encode()
        for attempt in (1, 2):
            fresh = self._sock is None
            if fresh:
                self._sock = self._connect()
            try:
                self._sock.sendall(data)
                return self._response(method)
            except OSError:
                self.close()
                if fresh or attempt == 2:
                    raise

    def _fill(self):
        chunk = self._sock.recv(65536)
        if not chunk:
            raise ConnectionResetError("the server closed the connection")
        self._buf += chunk

    def _line(self):
        while b"\r\n" not in self._buf:
            self._fill()
        line, self._buf = self._buf.split(b"\r\n", 1)
        return line

    def _exactly(self, size):
        while len(self._buf) < size:
            self._fill()
        data, self._buf = self._buf[:size], self._buf[size:]
        return data

    def _response(self, method):
        status = int(self._line().split(b" ", 2)[1])
        headers = {}
        while True:
            line = self._line()
            if not line:
                break
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if method == "HEAD" or status in (204, 304):
            body = b""
        elif "content-length" in headers:
            body = self._exactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int(self._line().split(b";")[0], 16)
                if size == 0:
                    while self._line():  # trailers, then the empty line
                        pass
                    break
                parts.append(self._exactly(size))
                self._exactly(2)
            body = b"".join(parts)
        else:  # the body ends with the connection
            try:
                while True:
                    self._fill()
            except ConnectionResetError:
                pass
            body, self._buf = self._buf, b""
            self.close()
        if headers.get("connection", "").lower() == "close":
            self.close()
        return Response(status, headers, body)


def unix(path, timeout):
    def connect():
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        sock.connect(path)
        return sock
    return Connection(connect)


def tcp(host, port, timeout):
    return Connection(lambda: socket.create_connection((host, port), timeout=timeout))
