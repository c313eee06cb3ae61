#!/usr/bin/env python3
"""Where the time of kargo's no-op (and P4/P5 full) runs goes.

Sets up the same roots as bench/run.py (deployed on the live Swarm), then for
each case prints: wall time (median of --runs) of the run, of `doit list`
(loading the tasks only, no status check, no engine) and of the import floor;
import time per top-level package (`python -X importtime`); every engine round
trip, docker CLI run, fsync and sleep (bench/_trace.py); and the top functions
of a cProfile run (saved as <out>/<case>.prof). Cleans up like run.py.

    python bench/profile.py [--cases P1,P2,P4,P5] [--out DIR]
"""
import argparse
import json
import os
import pstats
import re
import secrets
import shutil
import statistics
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import support as bench  # noqa: E402

os.environ.pop("PYTHONDONTWRITEBYTECODE", None)  # as run.py: Python caches bytecode by default

TRACE = HERE / "_trace.py"


def wall(cmd, env, runs, prep=None):
    times = []
    for _ in range(runs):
        if prep:
            prep()
        proc, t = bench.run(cmd, env=env, cwd=bench.REPO)
        times.append(t)
    return statistics.median(times), proc


def importtime(root, args):
    proc, _ = bench.run([sys.executable, "-X", "importtime", "-m", "doit", "-f", str(bench.DODO),
                         *args], env=root.env(), cwd=bench.REPO)
    by_pkg = defaultdict(int)
    total = 0
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", line)
        if not m:
            continue
        self_us, name = int(m.group(1)), m.group(4)
        top = name.split(".")[0]
        by_pkg[top] += self_us
        total += self_us
    return total / 1e6, sorted(by_pkg.items(), key=lambda kv: -kv[1])


def trace(root, args, out):
    env = dict(root.env(), KARGO_BENCH_TRACE=str(out))
    proc, t = bench.run([sys.executable, str(TRACE), "-f", str(bench.DODO), *args], env=env,
                        cwd=bench.REPO)
    data = json.loads(Path(out).read_text())
    groups = defaultdict(lambda: [0, 0.0])
    for kind, what, secs in data["calls"]:
        key = f"{kind}: {what}" if kind in ("http", "cli") else kind
        groups[key][0] += 1
        groups[key][1] += secs
    return t, data["marks"], sorted(groups.items(), key=lambda kv: -kv[1][1])


def profile(root, args, out, top=30):
    cmd = [sys.executable, "-m", "cProfile", "-o", str(out), "-m", "doit", "-f",
           str(bench.DODO), *args]
    bench.run(cmd, env=root.env(), cwd=bench.REPO)
    st = pstats.Stats(str(out))
    rows = []
    for (fn, ln, name), (cc, nc, tt, ct, callers) in st.stats.items():
        if "importlib" in fn or fn.startswith("<frozen") or name == "<module>":
            continue
        short = fn.replace(str(bench.REPO) + "/", "")
        short = re.sub(r".*/site-packages/", "", short)
        short = re.sub(r".*/lib/python3\.\d+/", "stdlib/", short)
        rows.append((ct, tt, nc, f"{short}:{ln}({name})"))
    total = st.total_tt
    by_cum = sorted(rows, key=lambda r: -r[0])
    by_tot = sorted(rows, key=lambda r: -r[1])
    return total, by_cum[:top], by_tot[:15]


def report(case, root, args, runs, out_dir, prep=None, skip_profile=False):
    print(f"\n## {case}: doit {' '.join(args)}  (root {root.root})")
    floor, _ = wall([sys.executable, "-c", "import doit"], root.env(), runs)
    t, proc = wall(root.cmd(*args), root.env(), runs, prep)
    load, _ = wall(root.cmd("list", "--all"), root.env(), runs)
    print(f"wall (median of {runs}): run {t:.3f} s | `doit list --all` (load tasks only) "
          f"{load:.3f} s | python -c 'import doit' {floor:.3f} s")
    if (proc.stdout + proc.stderr).strip():
        print(f"  (the run printed {len((proc.stdout + proc.stderr).splitlines())} lines: "
              "not a no-op)")
    if prep:
        prep()
    total, pkgs = importtime(root, args)
    print(f"imports (-X importtime, self time summed): {total:.3f} s; by top-level package: "
          + ", ".join(f"{name} {us / 1e3:.0f} ms" for name, us in pkgs[:14]))
    if prep:
        prep()
    t2, marks, groups = trace(root, args, out_dir / f"{case}.trace.json")
    print(f"engine/IO trace (one run, {t2:.3f} s): "
          + "; ".join(f"{k} x{n} = {s * 1e3:.0f} ms" for k, (n, s) in groups))
    if skip_profile:
        return
    if prep:
        prep()
    total, by_cum, by_tot = profile(root, args, out_dir / f"{case}.prof")
    print(f"cProfile ({total:.3f} s under the profiler), top by cumulative time:")
    for ct, tt, nc, name in by_cum:
        print(f"  {ct:7.3f} cum {tt:7.3f} self {nc:>7} calls  {name}")
    print("  top by self time:")
    for ct, tt, nc, name in by_tot:
        print(f"  {ct:7.3f} cum {tt:7.3f} self {nc:>7} calls  {name}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", default="P1,P2,P4,P5")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--out", default=None, help="where .prof and traces go (kept)")
    ap.add_argument("--p4-files", type=int, default=10000)
    ap.add_argument("--p5-stacks", type=int, default=50)
    ap.add_argument("--p5-services", type=int, default=4)
    args = ap.parse_args()
    cases = {c.strip().upper() for c in args.cases.split(",")}
    rid = secrets.token_hex(2)
    tmp = Path(tempfile.mkdtemp(prefix=f"kargo-bench-{rid}-"))
    out_dir = Path(args.out or tmp / "out")
    out_dir.mkdir(parents=True, exist_ok=True)
    cleaner = bench.Cleaner(rid)
    base_ref = f"{bench.REGISTRY}/kargo-bench/{rid}/busybox:base"
    print(f"Machine: {bench.machine_line()}")
    try:
        if cases & {"P1", "P2", "P5"}:
            bench.build_base(tmp, base_ref, rid)
            cleaner.see_images()
        if cases & {"P1", "P2"}:
            root = bench.CatalogRoot(tmp / "catalog", rid, base_ref)
            root.generate()
            root.doit("deploy")
            cleaner.see_images()
            root.doit("deploy")
            if "P1" in cases:
                report("P1-noop-deploy", root, ["deploy"], args.runs, out_dir)
            if "P2" in cases:
                report("P2-noop-build", root, ["build"], args.runs, out_dir)
            bench.remove_stacks(f"kargo-bench-{rid}-")
        if "P4" in cases:
            root = bench.BulkRoot(tmp / "bulk")
            root.generate(args.p4_files)
            root.doit("configure")
            report("P4-noop-configure", root, ["configure"], args.runs, out_dir)

            def fresh():
                shutil.rmtree(root.merged, ignore_errors=True)
            report("P4-full-configure", root, ["configure"], args.runs, out_dir, prep=fresh)
            shutil.rmtree(root.base, ignore_errors=True)
        if "P5" in cases:
            root = bench.ManyRoot(tmp / "many", rid, base_ref, args.p5_stacks, args.p5_services)
            root.generate()
            bench.log("P5 converge under the tracer")
            t, marks, groups = trace(root, ["deploy"], out_dir / "P5-converge.trace.json")
            print(f"\n## P5-converge: doit deploy of {args.p5_stacks} stacks from nothing: {t:.1f} s; "
                  + "; ".join(f"{k} x{n} = {s:.1f} s" for k, (n, s) in groups[:12]))
            report("P5-noop-deploy", root, ["deploy"], args.runs, out_dir)
    finally:
        errors = cleaner.run()
        shutil.rmtree(tmp / "catalog", ignore_errors=True)
        shutil.rmtree(tmp / "many", ignore_errors=True)
        for e in errors:
            print(f"cleanup: {e}", file=sys.stderr)
        if not args.out:
            print(f"(profiles and traces in {out_dir})")


if __name__ == "__main__":
    main()
