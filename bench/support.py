"""What every case of bench/run.py uses: running and timing commands, the
generated roots (CatalogRoot, BulkRoot, ManyRoot), the engine and registry
helpers, the cleaner and the results table."""
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

# kargo's own rules, not copies: the label of a stack's namespace and the
# names in it, a name's variable prefix, the manifests a registry is asked for
from kargo_tasks.engine.client import MANIFEST_TYPES
from kargo_tasks.workspace.environment import prefix
from kargo_tasks.workspace.namespace import LABEL as NAMESPACE
from kargo_tasks.workspace.layout import workspace_key
from kargo_tasks.workspace.namespace import Namespace

REPO = Path(__file__).resolve().parent.parent
DODO = REPO / "dodo.py"
REGISTRY = "127.0.0.1:5000"
RUN_LABEL = "org.kargo-bench.run"
BUSYBOX_BIN = Path("/bin/busybox")


class BenchError(Exception):
    pass


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# -- processes ------------------------------------------------------------------

def run(cmd, *, env=None, cwd=None, check=True, timeout=3600):
    """(CompletedProcess, wall seconds) of one command."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    if check and proc.returncode != 0:
        raise BenchError(f"{' '.join(map(str, cmd))} exited {proc.returncode}\n"
                         f"stdout:\n{proc.stdout[-4000:]}\nstderr:\n{proc.stderr[-4000:]}")
    return proc, elapsed


def run_all(cmds, **kw):
    """Run commands one after the other; total wall seconds."""
    start = time.perf_counter()
    for cmd in cmds:
        run(cmd, **kw)
    return time.perf_counter() - start


def docker_env():
    # docker-py builds with the classic builder: the CLI baseline must use the
    # same one, or it would not share its cache.
    return dict(os.environ, DOCKER_BUILDKIT="0")


class Root:
    """A kargo root of its own (KARGO_ROOT) and its workspace (KARGO_WORKSPACE)."""

    def __init__(self, base):
        self.base = Path(base)
        self.root = self.base / "root"
        self.workspace = self.base / "workspace"
        # the workspace's merged configuration and state (workspace/layout.py)
        self.merged = self.root / ".kargo" / workspace_key(self.workspace)

    def env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("KARGO_")}
        env.update(KARGO_ROOT=str(self.root), KARGO_WORKSPACE=str(self.workspace))
        return env

    def cmd(self, *args, profile=None):
        head = [sys.executable]
        if profile:
            head += ["-m", "cProfile", "-o", str(profile)]
        return head + ["-m", "doit", "-f", str(DODO), *args]

    def doit(self, *args, check=True, profile=None):
        return run(self.cmd(*args, profile=profile), env=self.env(), cwd=REPO, check=check)

    def stack_files(self):
        return sorted((self.merged / "stacks").glob("*.yml"))


def write(path, text, mode=None):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    if mode is not None:
        os.chmod(path, mode)
    return path


def median(xs):
    return statistics.median(xs) if xs else float("nan")


# -- engine ---------------------------------------------------------------------

_client = None


def client():
    global _client
    if _client is None:
        import docker
        _client = docker.from_env(timeout=300)
    return _client


def now():
    """An events() bound with nanoseconds (a datetime is cut to whole seconds)."""
    return f"{time.time():.9f}"


def services_with_prefix(name_prefix):
    return [s for s in client().api.services() if s["Spec"]["Name"].startswith(name_prefix)]


def wait_converged(name_prefix, expected, timeout=900, interval=0.25):
    """Until `expected` services named `name_prefix*` exist and each runs its
    desired replicas (one list of services and one list of tasks per poll)."""
    deadline = time.monotonic() + timeout
    while True:
        services = services_with_prefix(name_prefix)
        if len(services) >= expected:
            tasks = client().api.tasks(filters={"desired-state": "running"})
            running = Counter(t["ServiceID"] for t in tasks if t["Status"]["State"] == "running")
            if all(running[s["ID"]] >= s["Spec"]["Mode"].get("Replicated", {}).get("Replicas", 1)
                   for s in services):
                return
        if time.monotonic() > deadline:
            raise BenchError(f"services {name_prefix}* did not converge in {timeout}s")
        time.sleep(interval)


def remove_stacks(ns_prefix, timeout=600):
    """`docker stack rm` every stack whose namespace starts with `ns_prefix`,
    then wait until their services and task containers are gone."""
    api = client().api
    spaces = {s["Spec"].get("Labels", {}).get(NAMESPACE) for s in api.services()}
    spaces = sorted(s for s in spaces if s and s.startswith(ns_prefix))
    for i in range(0, len(spaces), 20):
        run(["docker", "stack", "rm", *spaces[i:i + 20]], check=False)
    deadline = time.monotonic() + timeout
    while True:
        left_services = [s for s in api.services()
                         if (s["Spec"].get("Labels", {}).get(NAMESPACE) or "").startswith(ns_prefix)]
        left_containers = [c for c in api.containers(all=True, filters={"label": NAMESPACE})
                           if (c["Labels"].get(NAMESPACE) or "").startswith(ns_prefix)]
        if not left_services and not left_containers:
            return
        if not left_services:
            for c in left_containers:  # exited task containers: do not wait for the agent
                if c["State"] in ("exited", "dead", "created"):
                    try:
                        api.remove_container(c["Id"])
                    except Exception:
                        pass
        if time.monotonic() > deadline:
            raise BenchError(f"stacks {ns_prefix}* still there after {timeout}s")
        time.sleep(0.5)


def _retry(func, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        try:
            func()
            return None
        except Exception as exc:  # noqa: BLE001 - report the last one
            if time.monotonic() > deadline:
                return exc
            time.sleep(0.5)


def registry_request(path, method="GET", accept=None):
    req = urllib.request.Request(f"http://{REGISTRY}/v2/{path}", method=method)
    if accept:
        req.add_header("Accept", accept)
    return urllib.request.urlopen(req, timeout=20)


def registry_delete_repos(repo_prefix):
    """Delete the manifests of every tag of the registry repositories under
    `repo_prefix` (blobs wait for the registry's own garbage collection)."""
    errors = []
    repos, path = [], "_catalog?n=1000"
    try:
        while path:
            with registry_request(path) as resp:
                repos += json.load(resp).get("repositories") or []
                link = resp.headers.get("Link") or ""
            # next page: Link: </v2/_catalog?last=x&n=1000>; rel="next"
            path = link.split(">", 1)[0].lstrip("<").split("/v2/", 1)[-1] if "next" in link else None
    except Exception as exc:  # noqa: BLE001
        return [f"registry catalog: {exc}"]
    for repo in repos:
        if not repo.startswith(repo_prefix):
            continue
        try:
            with registry_request(f"{repo}/tags/list") as resp:
                tags = json.load(resp).get("tags") or []
        except urllib.error.HTTPError:
            tags = []
        digests = set()
        for tag in tags:
            try:
                with registry_request(f"{repo}/manifests/{tag}", "HEAD", MANIFEST_TYPES) as resp:
                    digests.add(resp.headers["Docker-Content-Digest"])
            except urllib.error.HTTPError:
                pass
        for digest in digests:
            try:
                registry_request(f"{repo}/manifests/{digest}", "DELETE").close()
            except urllib.error.HTTPError as exc:
                if exc.code not in (404, 405):
                    errors.append(f"{repo}@{digest}: {exc}")
    return errors


class Cleaner:
    """Removes what this run (or, with rid=None, any bench run) made, and
    nothing else: names `kargo-bench-<rid>-*`, images and registry
    repositories under `127.0.0.1:5000/kargo-bench/<rid>/`."""

    def __init__(self, rid=None):
        self.ns_prefix = f"kargo-bench-{rid}-" if rid else "kargo-bench-"
        self.repo_prefix = f"kargo-bench/{rid}/" if rid else "kargo-bench/"
        self.ref_prefix = f"{REGISTRY}/{self.repo_prefix}"
        self.rid = rid
        self.seen_ids = set()
        self.dirs = []

    def see_images(self):
        """Remember the ids our refs have now (a rebuild leaves the old one untagged)."""
        for image in client().api.images():
            if any(t.startswith(self.ref_prefix) for t in image.get("RepoTags") or ()):
                self.seen_ids.add(image["Id"])

    def run(self):
        errors = []
        api = client().api
        try:
            remove_stacks(self.ns_prefix)
        except Exception as exc:  # noqa: BLE001 - keep cleaning
            errors.append(f"stacks: {exc}")
        for item in api.configs():
            if item["Spec"]["Name"].startswith(self.ns_prefix):
                err = _retry(lambda: api.remove_config(item["ID"]))
                if err:
                    errors.append(f"config {item['Spec']['Name']}: {err}")
        for net in api.networks():
            if net["Name"].startswith(self.ns_prefix):
                err = _retry(lambda: api.remove_network(net["Id"]))
                if err:
                    errors.append(f"network {net['Name']}: {err}")
        self.see_images()
        label = {"label": f"{RUN_LABEL}={self.rid}"} if self.rid else {"label": RUN_LABEL}
        self.seen_ids.update(i["Id"] for i in api.images(filters=label))
        for image in api.images():
            for tag in image.get("RepoTags") or ():
                if tag.startswith(self.ref_prefix):
                    try:
                        api.remove_image(tag)
                    except Exception as exc:  # noqa: BLE001
                        errors.append(f"image {tag}: {exc}")
        # untagged images we made, children before parents (retry until stable)
        todo = set(self.seen_ids)
        for _ in range(5):
            for image_id in sorted(todo):
                try:
                    if not api.inspect_image(image_id).get("RepoTags"):
                        api.remove_image(image_id)
                    todo.discard(image_id)
                except Exception as exc:  # noqa: BLE001
                    if getattr(exc, "status_code", None) == 404:
                        todo.discard(image_id)
            if not todo:
                break
        errors += [f"image {i[:19]} left: other images or containers use it" for i in todo
                   if _exists(api, i) and not api.inspect_image(i).get("RepoTags")]
        errors += registry_delete_repos(self.repo_prefix)
        for d in self.dirs:
            shutil.rmtree(d, ignore_errors=True)
        return errors


def _exists(api, image_id):
    try:
        api.inspect_image(image_id)
        return True
    except Exception:  # noqa: BLE001
        return False


# -- machine --------------------------------------------------------------------

def machine_line():
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    server = run(["docker", "version", "--format", "{{.Server.Version}}"], check=False)[0]
    cli = run(["docker", "version", "--format", "{{.Client.Version}}"], check=False)[0]
    fs = run(["stat", "-f", "-c", "%T", tempfile.gettempdir()], check=False)[0].stdout.strip()
    import doit
    head = run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], check=False)[0]
    dirty = run(["git", "-C", str(REPO), "status", "--porcelain", "--", "kargo_tasks", "dodo.py"],
                check=False)[0].stdout.split("\n")
    dirty = [line for line in dirty if line.strip()]
    return (f"CPU: {cpu}, {os.cpu_count()} cores | kernel {platform.release()} | "
            f"Docker engine {server.stdout.strip()} (CLI {cli.stdout.strip()}) | "
            f"Python {platform.python_version()}, doit {'.'.join(map(str, doit.__version__))} | "
            f"tmp fs {fs} | kargo {head.stdout.strip()}"
            + (f" + {len(dirty)} uncommitted file(s) in kargo_tasks/" if dirty else ""))


# -- the base image -------------------------------------------------------------

BASE_DOCKERFILE = """\
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
CMD ["/bin/sh"]
"""


def build_base(tmp, ref, rid):
    """FROM-scratch busybox (Docker Hub is unreachable), pushed."""
    if not BUSYBOX_BIN.is_file():
        raise BenchError(f"{BUSYBOX_BIN} missing (apt-get install busybox-static)")
    ctx = Path(tmp) / "base-context"
    ctx.mkdir(parents=True)
    shutil.copy2(BUSYBOX_BIN, ctx / "busybox")
    write(ctx / "Dockerfile", BASE_DOCKERFILE)
    run(["docker", "build", "-q", "--label", f"{RUN_LABEL}={rid}", "-t", ref, str(ctx)],
        env=docker_env())
    run(["docker", "push", ref])


# -- P1/P2/P3 root: the default catalog's shape ----------------------------------

def real_catalog():
    """The real defaults, read with kargo's own parsers (read only)."""
    sys.path.insert(0, str(REPO))
    from kargo_tasks.workspace import catalog as cat
    from kargo_tasks.workspace import environment, merge
    from kargo_tasks.workspace import layout as workspace
    lay = workspace.layout(REPO)
    env = environment.load([lay.defaults / ".env.default"], shell={})
    plan = merge.overlay(merge.layers(lay, None))
    return cat, lay, env, plan, cat.build(env, plan)


SERVICE_COMMAND = ["sleep", "86400"]
# A one-shot task must outlive the engine's update monitor (5 s): a task that
# completes within it counts as a failed update, and failure_action: rollback
# (the real seeder's) then rolls it back.
ONE_SHOT_COMMAND = ["sh", "-c", "sleep 8; echo done"]


def service_compose(service, real_doc, base_key=None):
    """A simple busybox compose file with the real service's configs,
    networks, restart and update policies; dnsrr, no ports, no volumes."""
    import yaml
    p = prefix(service)
    services = real_doc.get("services") or {}
    # the file is named after the service, its key may differ (hyrax-olfs.yml: olfs)
    real = services.get(service) or (next(iter(services.values())) if len(services) == 1 else {})
    real_deploy = real.get("deploy") or {}
    restart = real_deploy.get("restart_policy") or {"condition": "any"}
    spec = {
        "image": f"${{{p}_IMAGE}}:${{{p}_TAG}}",
        "command": ONE_SHOT_COMMAND if restart.get("condition") == "none" else SERVICE_COMMAND,
        "stop_grace_period": "1s",
        "environment": {"LOG_LEVEL": f"${{{p}_LOG_LEVEL:-info}}"},
    }
    if real.get("configs"):
        spec["configs"] = real["configs"]
    deploy = {"endpoint_mode": "${DOCKER_ENDPOINT_MODE}", "replicas": f"${{{p}_REPLICAS}}",
              "restart_policy": restart}
    if real_deploy.get("update_config"):
        deploy["update_config"] = real_deploy["update_config"]
    spec["deploy"] = deploy
    nets = [n for n in (real.get("networks") or ["back"]) if n in ("front", "back")] or ["back"]
    spec["networks"] = nets
    doc = {"version": "3.8", "services": {service: spec}}
    if real_doc.get("configs"):
        doc["configs"] = real_doc["configs"]
    doc["networks"] = {n: {"external": True, "name": f"${{DOCKER_{n.upper()}_NETWORK}}"}
                       for n in nets}
    text = yaml.safe_dump(doc, sort_keys=False, default_flow_style=False)
    if "$" in json.dumps(real.get("configs")) + json.dumps(deploy.get("update_config")):
        raise BenchError(f"real compose of {service} interpolates in copied fields")
    return text


CONTEXT_DOCKERFILE = """\
FROM {base}
COPY marker.txt /marker.txt
COPY extra.txt /etc/extra.txt
CMD ["sleep", "86400"]
"""
LOADER_DOCKERFILE = """\
FROM {base}
ARG MODEL=none
RUN echo "model=$MODEL" > /model
COPY marker.txt /marker.txt
CMD ["sleep", "86400"]
"""


class CatalogRoot(Root):
    """Stacks, services, dependencies, configs, hooks and built images of the
    real defaults/, with busybox images (under kargo-bench/<rid>/) and
    simple dnsrr compose files. Stack `<s>` becomes `bench-<rid>-<s>`."""

    def __init__(self, base, rid, base_ref):
        super().__init__(base)
        self.rid = rid
        self.base_ref = base_ref
        self.stack_names = {}       # real stack name -> bench stack name
        self.images = {}            # image name -> (ref, context dir name, build args)
        self.service_image = {}     # service -> image name (kargo-built) or None
        self.services = []
        self.repo = f"{REGISTRY}/kargo-bench/{rid}"

    def project(self, real_stack):
        return Namespace.of(self.stack_names[real_stack])

    def generate(self):
        import yaml
        cat, lay, env, plan, real = real_catalog()
        self.real_plan, self.real_env = plan, env
        defaults = self.root / "defaults"
        base_repo, base_tag = self.base_ref.rsplit(":", 1)
        lines = ["# generated by bench/run.py: the default catalog's shape on busybox"]
        self.stack_names = {s: f"bench-{self.rid}-{s}" for s in real.stacks}
        lines.append(f'STACKS="{" ".join(self.stack_names.values())}"')
        for stack in real.stacks.values():
            p = prefix(self.stack_names[stack.name])
            lines.append(f'{p}_STACK="{" ".join(stack.services)}"')
            if stack.depends:
                deps = " ".join(self.stack_names[d] for d in stack.depends)
                lines.append(f'{p}_DEPENDS="{deps}"')
        lines += [f'WEACAST_MODELS="{env.get("WEACAST_MODELS", "")}"',
                  f"DOCKER_FRONT_NETWORK=kargo-bench-{self.rid}-front",
                  f"DOCKER_BACK_NETWORK=kargo-bench-{self.rid}-back",
                  "DOCKER_ENDPOINT_MODE=dnsrr", "DOCKER_PORT_MODE=host",
                  f"KARGO_REGISTRY={REGISTRY}", "KARGO_DEPLOY_TIMEOUT=180"]
        built_refs = {cat.image_ref(env, name): name for name in real.images}
        defined = set()
        for name, image in real.images.items():
            repo_name = env.get(f"{prefix(name)}_IMAGE").rsplit("/", 1)[-1]
            ref = f"{self.repo}/{repo_name}:1"
            self.images[name] = (ref, image.context.split("/", 1)[1], dict(image.build_args))
            lines += [f"{prefix(name)}_IMAGE={ref.rsplit(':', 1)[0]}", f"{prefix(name)}_TAG=1"]
            defined.add(prefix(name))
        for stack in real.stacks.values():
            for service in stack.services:
                self.services.append((stack.name, service))
                p = prefix(service)
                built = built_refs.get(cat.image_ref(env, service))
                self.service_image[service] = built
                if built:
                    ref = self.images[built][0]
                    repo, tag = ref.rsplit(":", 1)
                else:
                    repo, tag = base_repo, base_tag
                if p not in defined:
                    lines += [f"{p}_IMAGE={repo}", f"{p}_TAG={tag}"]
                    defined.add(p)
                lines.append(f"{p}_REPLICAS=1")
                real_doc = yaml.safe_load((lay.defaults / f"deploy/{service}.yml").read_text())
                write(defaults / f"deploy/{service}.yml", service_compose(service, real_doc))
        write(defaults / ".env.default", "\n".join(lines) + "\n")
        # configs and hooks of the real defaults, same relative paths
        for out, source in plan.items():
            if out.startswith("configs/"):
                write(defaults / out, source.path.read_bytes())
            elif out.startswith("deploy/") and out.endswith(("_before.sh", "_after.sh")):
                write(defaults / out, source.path.read_bytes(), mode=0o755)
        # one busybox context per real context
        for ctx in sorted({c for _, c, _ in self.images.values()}):
            loader = any(args for _, c, args in self.images.values() if c == ctx)
            d = self.root / "images" / ctx
            template = LOADER_DOCKERFILE if loader else CONTEXT_DOCKERFILE
            write(d / "Dockerfile", template.format(base=self.base_ref))
            write(d / "marker.txt", f"{ctx} {self.rid}\n")
            if not loader:
                write(d / "extra.txt", f"extra file of {ctx}\n" * 20)
        write(self.workspace / ".env", "# the operator's settings (bench)\n")

    def docker_deploy_cmds(self):
        """`docker stack deploy` of each resolved stack file, as kargo runs it."""
        return [["docker", "stack", "deploy", "--with-registry-auth", "--prune",
                 "--compose-file", str(self.merged / "stacks" / f"{name}.yml"), Namespace.of(name)]
                for name in self.stack_names.values()]

    def docker_build_cmds(self):
        """Warm-cache `docker build` of each image kargo builds: same context,
        build args and labels (those of the image kargo built: the inputs
        label is keyed by its root), classic builder."""
        cmds = []
        for name, (ref, ctx, args) in self.images.items():
            labels = client().api.inspect_image(ref)["Config"]["Labels"] or {}
            cmd = ["docker", "build", "-q", "--rm", "--force-rm"]
            for key in ("org.kargo.image", "org.kargo.inputs"):
                cmd += ["--label", f"{key}={labels[key]}"]
            for k, v in args.items():
                cmd += ["--build-arg", f"{k}={v}"]
            cmds.append((name, ref, cmd + [str(self.merged / "images" / ctx)]))
        return cmds


# -- P4 root ----------------------------------------------------------------------

FLOOR_DODO = """\
# generated by bench/run.py: doit alone, one trivial copy task per file
import os
import shutil

DOIT_CONFIG = {{"dep_file": {db!r}, "backend": "sqlite3", "verbosity": 0}}
SRC, DST = {src!r}, {dst!r}


def copy(rel):
    os.makedirs(os.path.dirname(os.path.join(DST, rel)), exist_ok=True)
    shutil.copyfile(os.path.join(SRC, rel), os.path.join(DST, rel))


def task_copy():
    for top, _, files in os.walk(SRC):
        for name in files:
            rel = os.path.relpath(os.path.join(top, name), SRC)
            yield {{"name": rel, "actions": [(copy, [rel])],
                   "file_dep": [os.path.join(SRC, rel)], "targets": [os.path.join(DST, rel)]}}
"""


class BulkRoot(Root):
    def generate(self, count):
        write(self.root / "defaults/.env.default", 'STACKS=""\n')
        (self.root / "images").mkdir(parents=True, exist_ok=True)
        write(self.workspace / ".env", "# bench\n")
        per_dir = 100
        for i in range(count):
            d, f = divmod(i, per_dir)
            write(self.workspace / f"configs/bulk/d{d:03d}/f{f:03d}.conf",
                  f"# generated file {i}\nkey_{i} = value {i}\n" + "x" * 64 + "\n")


# -- P5 root ----------------------------------------------------------------------

P5_SERVICE = """\
version: "3.8"
services:
  {service}:
    image: ${{{p}_IMAGE}}:${{{p}_TAG}}
    command: ["sleep", "86400"]
    stop_grace_period: 1s
    environment:
      LOG_LEVEL: ${{{p}_LOG_LEVEL:-info}}
{configs}    deploy:
      endpoint_mode: dnsrr
      replicas: ${{{p}_REPLICAS}}
      restart_policy:
        condition: any
    networks: [back]
networks:
  back:
    external: true
    name: ${{DOCKER_BACK_NETWORK}}
{top}"""


class ManyRoot(Root):
    def __init__(self, base, rid, base_ref, stacks, per_stack, tag="m"):
        super().__init__(base)
        self.rid, self.base_ref, self.tag = rid, base_ref, tag
        self.n_stacks, self.per_stack = stacks, per_stack
        self.names = [f"bench-{rid}-{tag}{i:02d}" for i in range(stacks)]

    @property
    def ns_prefix(self):
        return f"kargo-bench-{self.rid}-{self.tag}"

    def generate(self):
        repo, tag = self.base_ref.rsplit(":", 1)
        lines = [f'STACKS="{" ".join(self.names)}"',
                 f"DOCKER_BACK_NETWORK=kargo-bench-{self.rid}-{self.tag}back",
                 "KARGO_DEPLOY_TIMEOUT=600"]
        for i, name in enumerate(self.names):
            services = [f"{self.tag}{i:02d}-s{j}" for j in range(self.per_stack)]
            lines.append(f'{prefix(name)}_STACK="{" ".join(services)}"')
            for j, service in enumerate(services):
                p = prefix(service)
                lines += [f"{p}_IMAGE={repo}", f"{p}_TAG={tag}", f"{p}_REPLICAS=1"]
                if j == 0:  # one config file per stack
                    configs = ("    configs:\n      - source: app_conf\n"
                               "        target: /etc/app.conf\n")
                    top = f"configs:\n  app_conf:\n    file: ../configs/{service}/app.conf\n"
                    write(self.root / f"defaults/configs/{service}/app.conf", f"id = {service}\n")
                else:
                    configs = top = ""
                write(self.root / f"defaults/deploy/{service}.yml",
                      P5_SERVICE.format(service=service, p=p, configs=configs, top=top))
        write(self.root / "defaults/.env.default", "\n".join(lines) + "\n")
        (self.root / "images").mkdir(parents=True, exist_ok=True)
        write(self.workspace / ".env", "# bench\n")

    def docker_deploy_cmds(self):
        return [["docker", "stack", "deploy", "--with-registry-auth", "--prune",
                 "--compose-file", str(self.merged / "stacks" / f"{name}.yml"), Namespace.of(name)]
                for name in self.names]


# -- results ----------------------------------------------------------------------

class Results:
    def __init__(self):
        self.rows = []
        self.notes = []
        self.samples = {}

    def time_row(self, case, kargo, base, target, limit, base_name):
        """A timing row: pass when kargo/base <= limit (limit None: informational)."""
        k, b = median(kargo), median(base)
        ratio = k / b if b else float("inf")
        verdict = "info" if limit is None else ("pass" if ratio <= limit else "FAIL")
        self.rows.append((case, f"{k:.3f} s", f"{b:.3f} s ({base_name})", f"{ratio:.2f}",
                          target, verdict))
        self.samples[case] = {"kargo": kargo, "baseline": base}

    def abs_row(self, case, kargo, base, target, limit_s, base_name):
        k, b = median(kargo), median(base)
        verdict = "pass" if k <= limit_s else "FAIL"
        self.rows.append((case, f"{k:.3f} s", f"{b:.3f} s ({base_name})",
                          f"{k / b:.2f}" if b else "-", target, verdict))
        self.samples[case] = {"kargo": kargo, "baseline": base}

    def print(self, machine):
        print()
        print(f"Machine: {machine}")
        print()
        print("| case | kargo | baseline | ratio | target | result |")
        print("|---|---|---|---|---|---|")
        for row in self.rows:
            print("| " + " | ".join(row) + " |")
        if self.notes:
            print()
            for note in self.notes:
                print(f"- {note}")
        print()
        print("Samples (seconds, in run order):")
        for case, s in self.samples.items():
            print(f"  {case}: kargo {[round(x, 3) for x in s['kargo']]} "
                  f"baseline {[round(x, 3) for x in s['baseline']]}")


def check_noop(proc, what, res):
    out = (proc.stdout + proc.stderr).strip()
    if out:
        res.notes.append(f"{what}: NOT a no-op, printed: {out.splitlines()[:6]}")
        return False
    return True


# -- the cases --------------------------------------------------------------------
