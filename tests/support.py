"""Test support: an isolated kargo root (KARGO_ROOT) and a way to run doit on it."""
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
STABLE_SECONDS = "1"


def write(path, text, mode=None):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n") if isinstance(text, str) else text)
    if mode is not None:
        os.chmod(path, mode)
    return path


class Kargo:
    """A kargo root of its own (defaults/, images/, .kargo/) plus a workspace."""

    def __init__(self, root, workspace):
        self.root = root
        self.workspace = workspace
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("KARGO_")}
        self.env.update(KARGO_ROOT=str(root), KARGO_WORKSPACE=str(workspace))
        # a test needs the stacks converged, not docker's 3 s window of stable
        # tasks (swarm.STABLE): 1 s here (KARGO_STABLE_SECONDS, the shell's
        # over the .env's); the test of the window sets kargo's back
        self.env.update(KARGO_STABLE_SECONDS=STABLE_SECONDS)

    @property
    def merged(self):
        """The merged configuration and state of the workspace the runs work
        on (KARGO_WORKSPACE): `.kargo/<workspace key>/`."""
        return merged_of(self.root, self.env.get("KARGO_WORKSPACE"))

    def command(self, *args):
        """The command line of `doit <args>` on the repo's dodo.py."""
        return [sys.executable, "-m", "doit", "-f", str(REPO / "dodo.py"), *args]

    def run(self, *args, check=True, env=None, cwd=None):
        """`doit <args>` on the repo's dodo.py against this root."""
        return self._run(self.command(*args), check, env, cwd)

    def kargo(self, *args, check=True, env=None, cwd=None):
        cmd = [sys.executable, "-m", "kargo_tasks.commands.cli", *args]
        return self._run(cmd, check, env, cwd or self.root)

    def _run(self, cmd, check, env, cwd):
        full_env = dict(self.env, **(env or {}))
        proc = subprocess.run(cmd, capture_output=True, text=True, env=full_env,
                              cwd=cwd or REPO, timeout=600)
        if check and proc.returncode != 0:
            raise AssertionError(f"{cmd[3:]} exited {proc.returncode}\n"
                                 f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
        return proc

    def snapshot(self):
        """{relative path: (bytes, mtime_ns, mode)} of every file of .kargo/ but the state."""
        found = {}
        for path in sorted(self.merged.rglob("*")):
            rel = path.relative_to(self.merged).as_posix()
            if path.is_file() and not rel.startswith(".state/"):
                st = path.stat()
                found[rel] = (path.read_bytes(), st.st_mtime_ns, st.st_mode & 0o777)
        return found


def merged_of(root, workspace):
    """`.kargo/<key>/` of `workspace` (None: none chosen) under the kargo root `root`."""
    from kargo_tasks.workspace.layout import workspace_key
    return Path(root) / ".kargo" / workspace_key(Path(workspace) if workspace else None)


MINI_DEFAULTS = {
    ".env.default": """
        STACKS="web"
        WEB_STACK="front"
        FRONT_IMAGE=example/front
        FRONT_TAG=1.0
        FRONT_REPLICAS=1
        GREETING="hello ${WHO:-world}"
        DOCKER_FRONT_NETWORK=kargo-front
        DOCKER_BACK_NETWORK=kargo-back
    """,
    "deploy/front.yml": """
        version: "3.8"
        services:
          front:
            image: ${FRONT_IMAGE}:${FRONT_TAG}
    """,
    "configs/front/plain.conf": "plain = 1\n",
    "configs/front/greeting.txt.tpl": "${GREETING}\n",
    "configs/front/page.html.j2": "<p>{{ GREETING }}</p>\n",
}


def age_keygen(path):
    """A new age identity file at `path` (Debian's age-keygen); its public key."""
    subprocess.run(["age-keygen", "-o", str(path)], check=True, capture_output=True)
    return subprocess.run(["age-keygen", "-y", str(path)], check=True, capture_output=True,
                          text=True).stdout.strip()


def age_encrypt(plain, recipients_file, out, armor=False):
    """Debian's `age` encrypts `plain`, given on its stdin (never a file in
    clear), for the recipients of `recipients_file` into `out`."""
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["age", *(["-a"] if armor else []), "-R", str(recipients_file), "-o", str(out)],
                   input=plain.encode(), check=True)


def wait_stack_containers_gone(docker_client, project, timeout=60):
    """Wait (up to `timeout` s) until no container of the stack `project` is
    left: the swarm agent removes a removed stack's task containers in its own
    time, and they hold its networks, volumes and host-mode ports. The plain
    listing: docker-py's models inspect each container listed, and one the
    agent removes in between is a 404."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and docker_client.api.containers(
            all=True, filters={"label": f"com.docker.stack.namespace={project}"}):
        time.sleep(1)


def build_image(docker_client, **kwargs):
    """docker-py's `images.build(**kwargs)`, built again (3 attempts, as
    kargo's builds: deploy/images.BUILD_ATTEMPTS) when the engine's cache
    lookup met an image another test removed meanwhile (moby's classic
    builder race, deploy/images.raced_an_image_removal)."""
    import docker

    from kargo_tasks.deploy.images import BUILD_ATTEMPTS, raced_an_image_removal
    for attempt in range(BUILD_ATTEMPTS):
        if kwargs.get("fileobj") is not None:
            kwargs["fileobj"].seek(0)
        try:
            return docker_client.images.build(**kwargs)
        except docker.errors.BuildError as exc:
            if attempt == BUILD_ATTEMPTS - 1 or not raced_an_image_removal(str(exc)):
                raise


def retry(func, timeout=20):
    """None once `func` succeeded; its last error after `timeout` seconds (a
    network is busy until the last task container of a removed stack is gone)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            func()
            return None
        except Exception as exc:
            if time.monotonic() > deadline:
                return exc
            time.sleep(0.5)


def terminal_signals():
    """For a child, before exec (preexec_fn): SIGINT and SIGQUIT as a
    terminal's foreground job has them. A suite started in the background
    (`nohup`, `&`, a CI runner) inherits them ignored, and an ignored SIGINT
    stays ignored across exec: the run would never see the Ctrl-C a test
    sends."""
    for sig in (signal.SIGINT, signal.SIGQUIT):
        signal.signal(sig, signal.SIG_DFL)


def venv_with_our_dependencies(venv):
    """A new virtual environment at `venv` whose dependencies are those of
    the environment running the tests (`.venv`, made by scripts/install),
    never the base interpreter's (`--system-site-packages` would see
    whatever the machine's python3 happens to hold): a `.pth` file puts
    our site-packages after its own. Only a path: the `.pth` files in ours
    (kargo's own editable install) are not read, so what the test installs
    into `venv` is the kargo it imports. Returns its python."""
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin/python"
    own = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True).stdout.strip()
    ours = {sysconfig.get_paths()[key] for key in ("purelib", "platlib")}
    write(Path(own) / "kargo-test-dependencies.pth", "".join(f"{p}\n" for p in sorted(ours)))
    return python


class UnixServer:
    """A unix socket served by a thread: `accepted(conn)` gets each connection."""

    def __init__(self, prefix):
        # short path: a unix socket path is at most 107 bytes
        self.dir = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
        self.path = os.path.join(self.dir, "engine.sock")
        self.url = f"unix://{self.path}"
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(self.path)
        self._server.listen(64)
        self._server.settimeout(0.1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except OSError:
                continue
            self.accepted(conn)

    def accepted(self, conn):
        raise NotImplementedError

    def close(self):
        self._stop.set()
        self._thread.join()
        self._server.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class EngineProbe(UnixServer):
    """A unix socket that accepts and drops connections, counting them."""

    def __init__(self):
        self.connections = 0
        super().__init__("kt-probe-")

    def accepted(self, conn):
        self.connections += 1
        conn.close()


class Git:
    """git with a HOME of its own (identity, default branch)."""

    def __init__(self, home):
        write(home / ".gitconfig", "[user]\n\tname = kargo test\n\temail = test@kargo.invalid\n"
                                   "[init]\n\tdefaultBranch = main\n")
        self.env = dict(os.environ, HOME=str(home))

    def __call__(self, cwd, *args):
        return subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True,
                              text=True, env=self.env).stdout

    def upstream(self, top, env_text):
        """Under `top`: a bare repository whose one commit is a workspace
        `.env` of `env_text`, and two clones of it, (workspace, other): the
        operator's and another operator's who pushes."""
        seed = top / "seed"
        write(seed / ".env", env_text)
        self(top, "init", "-q", str(seed))
        self(seed, "add", "-A")
        self(seed, "commit", "-q", "-m", "first")
        bare = top / "upstream.git"
        self(top, "clone", "-q", "--bare", str(seed), str(bare))
        clones = top / "ws", top / "other"
        for clone in clones:
            self(top, "clone", "-q", str(bare), str(clone))
        return clones

    def push(self, clone, rel, text, message):
        write(clone / rel, text)
        self(clone, "add", "-A")
        self(clone, "commit", "-q", "-m", message)
        self(clone, "push", "-q")

    def shared(self, top, name, files):
        """A repository of shared configuration for submodules: a bare
        `top/<name>.git` whose one commit holds `files` ({path: text}), and
        a clone of it that pushes. Returns (url, clone). git refuses file://
        submodules by default since 2.38.1: this HOME allows them."""
        self(top, "config", "--global", "protocol.file.allow", "always")
        seed = top / f"{name}-seed"
        for rel, text in files.items():
            write(seed / rel, text)
        self(top, "init", "-q", str(seed))
        self(seed, "add", "-A")
        self(seed, "commit", "-q", "-m", f"{name}: first")
        bare = top / f"{name}.git"
        self(top, "clone", "-q", "--bare", str(seed), str(bare))
        clone = top / f"{name}-work"
        self(top, "clone", "-q", str(bare), str(clone))
        return f"file://{bare}", clone

    def add_submodule(self, clone, url, path, message):
        """Add the submodule `url` at `path` in `clone`, commit and push."""
        self(clone, "submodule", "add", "-q", url, path)
        self(clone, "commit", "-q", "-m", message)
        self(clone, "push", "-q")

    def bump(self, clone, path, message):
        """Move submodule `path` of `clone` to its upstream's newest commit;
        commit and push."""
        self(clone, "submodule", "update", "--init", "--remote", "-q", path)
        self(clone / path, "submodule", "update", "--init", "--recursive", "-q")
        self(clone, "add", path)
        self(clone, "commit", "-q", "-m", message)
        self(clone, "push", "-q")


class Webhook:
    """A local HTTP server capturing the requests it gets (real HTTP): the
    body of each POST, decoded as JSON; it answers `status` (200)."""

    def __init__(self, status=200):
        import http.server
        import json
        captured = self.requests = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                captured.append({"path": self.path, "type": self.headers.get("Content-Type"),
                                 "raw": raw, "json": json.loads(raw)})
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/T0K3N-path"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def closed_port():
    """A local TCP port nobody listens on (a refused connection)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Silent:
    """A local TCP server that accepts and never answers (a timeout)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/"

    def close(self):
        self.sock.close()
