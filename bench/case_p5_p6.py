"""P5 (many stacks converged, then a no-op) and P6 (one config changed in a
converged platform) (bench/README.md)."""
import math
import sys
import time
from pathlib import Path

from support import REPO, BenchError, ManyRoot, check_noop, client, log, remove_stacks, run

from kargo_tasks.workspace.namespace import LABEL as NAMESPACE
from kargo_tasks.workspace.namespace import Namespace


def same_wait(projects):
    """kargo's own wait (converged, then 3 s of the same tasks), for the
    baselines: what is compared is the sending, not the wait's rules."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from kargo_tasks.engine.swarm import STABLE, Convergence
    convergence = Convergence(900, STABLE, interval=0.5, progress=_Quiet())
    for project in projects:
        convergence.add(project)
    for project, failures in convergence.settle(projects):
        if failures:
            raise BenchError(f"{project}: {failures}")


class _Quiet:
    def update(self, states):
        pass

    def done(self):
        pass


def p5(args, tmp, rid, base_ref, cleaner, res):
    """Whole platforms from nothing, and no-op: plain `doit deploy` (no -n)
    vs `docker stack deploy` of every stack then one wait for all."""
    rounds = args.p5_runs or args.runs
    for shape in args.p5_shapes.split(","):
        n_stacks, per_stack = (int(x) for x in shape.lower().split("x"))
        tag = f"p{n_stacks}x{per_stack}-"
        root = ManyRoot(Path(tmp) / f"many{shape}", rid, base_ref, n_stacks, per_stack, tag)
        root.generate()
        cleaner.dirs.append(root.base)
        projects = [Namespace.of(name) for name in root.names]
        log(f"P5 {shape}: warm-up converge")
        root.doit("deploy")  # resolves the stack files; untimed
        converge, docker_converge, noop = [], [], []
        for i in range(rounds):
            remove_stacks(root.ns_prefix)
            _, t = root.doit("deploy")
            converge.append(t)
            for _ in range(math.ceil(args.runs / rounds)):
                proc, t = root.doit("deploy")
                if check_noop(proc, f"P5 {shape} round {i + 1} no-op deploy", res):
                    noop.append(t)
            remove_stacks(root.ns_prefix)
            start = time.perf_counter()
            for cmd in root.docker_deploy_cmds():
                run(cmd)
            same_wait(projects)
            docker_converge.append(time.perf_counter() - start)
            log(f"P5 {shape} round {i + 1}: kargo {converge[-1]:.1f} s vs docker "
                f"{docker_converge[-1]:.1f} s; no-op {noop[-1] if noop else float('nan'):.3f} s")
        res.time_row(f"P5 converge plain `doit deploy`, {shape} from nothing", converge,
                     docker_converge, "<= 1.3", 1.3, f"docker stack deploy x{n_stacks} + one wait")
        res.abs_row(f"P5 no-op `doit deploy`, {shape}", noop, docker_converge, "<= 0.3 s", 0.3,
                    "the converge baseline, for scale")
        if args.profile:
            root.doit("deploy", profile=Path(args.profile) / f"p5_{shape}_noop_deploy.prof")
        if shape == args.p6_shape:
            p6(args, root, projects, res)
        remove_stacks(root.ns_prefix)


def p6(args, root, projects, res):
    """One changed config file in a converged platform: `doit deploy` to
    converged vs `docker service update --config-rm/--config-add` of that
    one service then the same wait."""
    service = f"{root.tag}00-s0"
    stack = root.names[0]
    conf = root.root / f"defaults/configs/{service}/app.conf"
    target = Namespace.of(stack).scope(service)
    kargo, docker_times = [], []
    for i in range(args.runs):
        conf.write_text(f"id = {service}\nround = k{i}\n")
        _, t = root.doit("deploy")
        kargo.append(t)
        # the same change by hand: a new config, swapped on that one service
        spec = client().api.inspect_service(target)["Spec"]["TaskTemplate"]["ContainerSpec"]
        old = spec["Configs"][0]
        new_name = f"{old['ConfigName'][:40]}-d{i}"
        data = f"id = {service}\nround = d{i}\n".encode()
        start = time.perf_counter()
        client().api.create_config(new_name, data, labels={NAMESPACE: Namespace.of(stack)})
        run(["docker", "service", "update", "--detach", "--config-rm", old["ConfigName"],
             "--config-add", f"source={new_name},target={old['File']['Name']}", target])
        same_wait([Namespace.of(stack)])
        docker_times.append(time.perf_counter() - start)
        log(f"P6 round {i + 1}: kargo {kargo[-1]:.1f} s vs docker {docker_times[-1]:.1f} s")
    res.time_row("P6 one changed config file, converged platform", kargo, docker_times,
                 "<= 1.2", 1.2, "docker service update --config-rm/--config-add + same wait")


# -- main ---------------------------------------------------------------------------
