"""wire.py against a scripted server on a local socket."""
import socket
import threading

import pytest

from kargo_tasks import wire


def serve(replies):
    """A server answering each connection's requests with the next replies;
    a None reply closes the connection. Returns (port, requests seen)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    seen = []

    def run():
        replies_left = list(replies)
        while replies_left:
            conn, _ = listener.accept()
            with conn:
                while replies_left:
                    data = b""
                    while b"\r\n\r\n" not in data:
                        chunk = conn.recv(4096)
                        if not chunk:
                            break
                        data += chunk
                    if not data:
                        break
                    seen.append(data.split(b"\r\n", 1)[0].decode())
                    reply = replies_left.pop(0)
                    if reply is None:
                        break
                    conn.sendall(reply)
        listener.close()
    threading.Thread(target=run, daemon=True).start()
    return listener.getsockname()[1], seen


def test_content_length_chunked_and_head_on_one_connection():
    port, seen = serve([
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n[]",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n4\r\n\": 1\r\n1\r\n}\r\n0\r\n\r\n",
        b"HTTP/1.1 404 Not Found\r\nDocker-Content-Digest: x\r\nContent-Length: 10\r\n\r\n",
    ])
    conn = wire.tcp("127.0.0.1", port, 5)
    assert conn.request("GET", "/a").body == b"[]"
    assert conn.request("GET", "/b").body == b'{"a": 1}'
    head = conn.request("HEAD", "/c", {"Accept": "x"})
    assert head.status == 404 and head.body == b"" and head.headers["docker-content-digest"] == "x"
    assert seen == ["GET /a HTTP/1.1", "GET /b HTTP/1.1", "HEAD /c HTTP/1.1"]


def test_a_kept_alive_connection_the_server_closed_is_replaced_once():
    port, seen = serve([b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n1", None,
                        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n2"])
    conn = wire.tcp("127.0.0.1", port, 5)
    assert conn.request("GET", "/1").body == b"1"
    assert conn.request("GET", "/2").body == b"2"  # sent again on a new connection
    assert seen == ["GET /1 HTTP/1.1", "GET /2 HTTP/1.1", "GET /2 HTTP/1.1"]


def test_nobody_listening_raises():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    with pytest.raises(OSError):
        wire.tcp("127.0.0.1", port, 5).request("GET", "/")
