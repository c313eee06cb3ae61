"""P1 (no-op deploy), P2 (no-op build) and P3 (the engine operations of one
change) on a root shaped like defaults/ (bench/README.md)."""
import sys
import time
from collections import Counter
from pathlib import Path

from support import (
    CatalogRoot,
    check_noop,
    client,
    docker_env,
    log,
    now,
    run,
    run_all,
    services_with_prefix,
    write,
)

from kargo_tasks.workspace.environment import prefix


def p1_p2_p3(args, tmp, rid, base_ref, cleaner, res):
    root = CatalogRoot(Path(tmp) / "catalog", rid, base_ref)
    root.generate()
    cleaner.dirs.append(root.base)
    log(f"catalog root {root.root}: {len(root.stack_names)} stacks, {len(root.services)} services, "
        f"{len(root.images)} images")
    log("initial converge: doit deploy (builds, pushes, deploys)")
    proc, t = root.doit("deploy")
    log(f"  converged in {t:.1f} s")
    cleaner.see_images()
    proc, _ = root.doit("build")
    check_noop(proc, "doit build right after deploy", res)
    proc, _ = root.doit("deploy")
    check_noop(proc, "doit deploy right after deploy", res)
    profile_dir = Path(args.profile) if args.profile else None

    # what the targets leave to kargo: the interpreter, and doit running one
    # up-to-date task from a dodo.py of its own
    empty = Path(tmp) / "empty-dodo"
    write(empty / "dodo.py", 'DOIT_CONFIG = {"dep_file": "doit.db", "backend": "sqlite3"}\n\n\n'
          'def task_noop():\n    return {"actions": None, "uptodate": [True]}\n')
    python_cmd = [sys.executable, "-c", "pass"]
    doit_cmd = [sys.executable, "-m", "doit", "-f", str(empty / "dodo.py"), "noop"]
    run(doit_cmd, cwd=empty)
    python_t, doit_t = [], []

    if "P1" in args.cases:
        kargo, docker_t, floor = [], [], []
        floor_cmd = [sys.executable, "-c", "import doit"]
        for i in range(args.runs):
            proc, t = root.doit("deploy")
            if check_noop(proc, f"P1 round {i + 1} doit deploy", res):
                kargo.append(t)
            docker_t.append(run_all(root.docker_deploy_cmds()))
            floor.append(run(floor_cmd)[1])
            python_t.append(run(python_cmd)[1])
            doit_t.append(run(doit_cmd, cwd=empty)[1])
            # `docker stack deploy` re-sends every spec (a new version of each
            # service): kargo sees drift, so let it re-record, untimed.
            root.doit("deploy")
            log(f"P1 round {i + 1}: kargo {kargo[-1] if kargo else float('nan'):.3f} s, "
                f"docker stack deploy x{len(root.stack_names)} {docker_t[-1]:.3f} s, "
                f"floor {floor[-1]:.3f} s")
        res.time_row(f"P1 no-op `doit deploy` ({len(root.stack_names)} stacks, "
                     f"{len(root.services)} services) vs docker stack deploy",
                     kargo, docker_t, "<= 0.50", 0.5, "docker stack deploy")
        res.time_row("P1 no-op `doit deploy` vs import floor", kargo, floor, "<= 2.00", 2.0,
                     'python -c "import doit"')
        res.time_row("P1 floor: `python -c pass` vs docker stack deploy", python_t, docker_t,
                     "- (info)", None, "docker stack deploy")
        res.time_row("P1 floor: doit, one up-to-date task, vs docker stack deploy", doit_t,
                     docker_t, "- (info)", None, "docker stack deploy")
        if profile_dir:
            root.doit("deploy", profile=profile_dir / "p1_noop_deploy.prof")

    if "P2" in args.cases:
        kargo, docker_t, doit_b = [], [], []
        builds = root.docker_build_cmds()
        want = {name: client().api.inspect_image(ref)["Id"] for name, ref, _ in builds}
        for i in range(args.runs):
            proc, t = root.doit("build")
            if check_noop(proc, f"P2 round {i + 1} doit build", res):
                kargo.append(t)
            start = time.perf_counter()
            for name, ref, cmd in builds:
                out, _ = run(cmd, env=docker_env())
                got = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""
                if got != want[name]:
                    res.notes.append(f"P2: docker build of {name} gave {got[:19]}, kargo's is "
                                     f"{want[name][:19]}: cache not shared")
            docker_t.append(time.perf_counter() - start)
            doit_b.append(run(doit_cmd, cwd=empty)[1])
            log(f"P2 round {i + 1}: kargo {kargo[-1] if kargo else float('nan'):.3f} s, "
                f"docker build x{len(builds)} {docker_t[-1]:.3f} s")
        res.time_row(f"P2 no-op `doit build` ({len(builds)} images) vs warm docker build",
                     kargo, docker_t, "<= 0.10", 0.1, "docker build (cached)")
        res.time_row("P2 floor: doit, one up-to-date task, vs warm docker build", doit_b,
                     docker_t, "- (info)", None, "docker build (cached)")
        if profile_dir:
            root.doit("build", profile=profile_dir / "p2_noop_build.prof")

    if "P3" in args.cases:
        p3(root, cleaner, res)


def _specs(name_prefix):
    return {s["Spec"]["Name"]: s["Spec"] for s in services_with_prefix(name_prefix)}


def _config_refs(specs):
    return {ref["ConfigName"] for spec in specs.values()
            for ref in spec["TaskTemplate"]["ContainerSpec"].get("Configs") or ()}


OP_KINDS = ("service creates", "service updates", "service removes", "config creates",
            "config updates", "config removes", "network creates", "network removes",
            "builds", "pushes")


class EventRecorder:
    """Streams the engine's events live from before a run to after it. Asking
    for them afterwards (`since`/`until`) is not enough on a busy engine: the
    daemon only keeps its last 256 events for such queries."""

    def __init__(self):
        import threading
        self.since = now()
        self.events = []
        self.stream = client().events(since=self.since, decode=True, filters={
            "type": ["service", "config", "network", "image"]})
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        try:
            for event in self.stream:
                self.events.append(event)
        except Exception:  # noqa: BLE001 - the stream was closed
            pass

    def stop(self, settle=1.0):
        time.sleep(settle)  # let the last events land
        until_ns = time.time_ns()
        self.stream.close()
        self.thread.join(5)
        return [e for e in self.events if e.get("timeNano", 0) <= until_ns]


def count_ops(events, ns_prefix, ref_prefix):
    """Mutating operations on our resources among `events`: a service
    `update` event per spec sent (an event carrying only `updatestate.*` is
    the progress of one update, not another one), config and network
    create/update/remove, and for images `tag` (kargo tags each build once)
    and `push`."""
    ops = Counter()
    detail = []
    for ev in events:
        kind, action = ev.get("Type"), ev.get("Action", "")
        attrs = ev.get("Actor", {}).get("Attributes", {})
        name = attrs.get("name", "")
        if kind == "service" and name.startswith(ns_prefix):
            extra = set(attrs) - {"name", "updatestate.old", "updatestate.new"}
            if action == "update" and not extra and "updatestate.new" in attrs:
                if attrs["updatestate.new"] == "updating":
                    ops["service rolls (tasks replaced)"] += 1
                continue
            ops[f"service {action}s"] += 1
            detail.append(f"service {action} {name.split('_', 1)[-1]}")
        elif kind in ("config", "network") and name.startswith(ns_prefix) and \
                action in ("create", "update", "remove"):
            ops[f"{kind} {action}s"] += 1
            detail.append(f"{kind} {action} {name[len(ns_prefix):]}")
        elif kind == "image" and name.startswith(ref_prefix) and action in ("tag", "push"):
            ops["builds" if action == "tag" else "pushes"] += 1
            detail.append(f"image {action} {name[len(ref_prefix):]}")
    return ops, detail


def p3(root, cleaner, res):
    ns_prefix = f"kargo-bench-{root.rid}-"
    ref_prefix = f"{root.repo}/"
    real_map = root.real_plan["configs/mapproxy/mapproxy.yaml"].path.read_bytes()
    env_service = "mapserver" if "mapserver" in root.service_image else root.services[0][1]
    image_ctx = root.images.get("mapserver", next(iter(root.images.values())))[1]
    # (label, the change, builds and pushes a minimal tool makes for it)
    scenarios = [
        (f"env override {prefix(env_service)}_LOG_LEVEL (1 service of a 4-service stack)",
         lambda: write(root.workspace / ".env",
                       f"# bench\n{prefix(env_service)}_LOG_LEVEL=debug\n"), 0),
        ("config override configs/mapproxy/mapproxy.yaml (read by mapproxy and seeder)",
         lambda: write(root.workspace / "configs/mapproxy/mapproxy.yaml",
                       real_map + b"\n# bench override\n"), 0),
        (f"build-context override images/{image_ctx}/marker.txt",
         lambda: write(root.workspace / f"images/{image_ctx}/marker.txt",
                       f"{image_ctx} changed {time.time_ns()}\n"), 1),
    ]
    for label, change, min_builds in scenarios:
        before = _specs(ns_prefix)
        configs_before = {c["Spec"]["Name"] for c in client().api.configs()
                          if c["Spec"]["Name"].startswith(ns_prefix)}
        change()
        recorder = EventRecorder()
        proc, t = root.doit("deploy", check=False)
        events = recorder.stop()
        cleaner.see_images()
        after = _specs(ns_prefix)
        if proc.returncode != 0:
            res.notes.append(f"P3 {label}: doit deploy FAILED: {proc.stderr.strip()[-300:]}")
        ops, detail = count_ops(events, ns_prefix, ref_prefix)
        changed = sorted(n for n in after if n in before and before[n] != after[n])
        moved = {n.partition("_")[0] for n in set(changed) | (set(after) ^ set(before))}
        unused = sorted(c for c in configs_before - _config_refs(before) - _config_refs(after)
                        if c.partition("_")[0] in moved)
        minimal = Counter({
            "service creates": len(set(after) - set(before)),
            "service updates": len(changed),
            "service removes": len(set(before) - set(after)),
            "config creates": len(_config_refs(after) - _config_refs(before)),
            # kargo keeps the version before for rollback: of the stacks that
            # changed, what neither the new specs nor the ones before use goes
            "config removes": len(unused),
            "builds": min_builds, "pushes": min_builds})
        seen = Counter({k: ops[k] for k in OP_KINDS})
        shown = [k for k in OP_KINDS if seen[k] or minimal[k]]
        total_seen, total_min = sum(seen.values()), sum(minimal.values())
        verdict = "pass" if +seen == +minimal and proc.returncode == 0 else "FAIL"
        res.rows.append((f"P3 {label}: mutating engine ops",
                         f"{total_seen} ({', '.join(f'{seen[k]} {k}' for k in shown)})",
                         f"{total_min} ({', '.join(f'{minimal[k]} {k}' for k in shown)}) minimal",
                         f"{total_seen / total_min:.2f}" if total_min else "-",
                         "= minimal", verdict))
        res.notes.append(f"P3 {label}: doit deploy {t:.1f} s; specs changed: "
                         f"{[n[len(ns_prefix):] for n in changed]}; "
                         f"service rolls: {ops['service rolls (tasks replaced)']}; "
                         f"events: {detail}; configs unused before and after: "
                         f"{[c[len(ns_prefix):] for c in unused]}")
        log(f"P3 {label}: seen {dict(+seen)} minimal {dict(+minimal)}")
