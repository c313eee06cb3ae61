#!/usr/bin/env python3
"""kargo benchmark on the live local Docker Swarm (see bench/README.md).

Every case is measured side by side with its baseline in the same run,
interleaved round by round, and reported as the median of --runs rounds:

  P1  no-op `doit deploy` over a root shaped like the default catalog vs
      `docker stack deploy` of the same resolved stack files, and vs the
      import floor `python -c "import doit"`
  P2  no-op `doit build` vs warm-cache `docker build` of the same contexts
  P3  one override changed -> mutating engine operations seen in
      `docker events`, vs the minimal set
  P4  `doit configure` of a 10,000-file workspace: full vs `cp -R`,
      no-op vs `rsync -a` no-op
  P5  50 stacks x 4 services: converge, and no-op `doit deploy`

Only the standard library, kargo itself (its naming rules and helpers) and its
dependencies (docker, PyYAML).
Everything it makes is named `kargo-bench-<run id>-...` (stacks, networks,
configs) or lives under `127.0.0.1:5000/kargo-bench/<run id>/` (images),
and is removed at the end; `--cleanup-all` removes what a killed run left.

This file is the command; each case is a module of its own (case_p1_p2_p3.py,
case_p4.py, case_p5_p6.py), and what they share is support.py.
"""
import argparse
import os
import secrets
import signal
import sys
import tempfile
from pathlib import Path

from case_p1_p2_p3 import p1_p2_p3
from case_p4 import p4
from case_p5_p6 import p5
from support import REGISTRY, Cleaner, Results, build_base, log, machine_line, remove_stacks


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5, help="rounds per case (median; >= 5)")
    ap.add_argument("--cases", default="P1,P2,P3,P4,P5", help="comma-separated subset (P5 includes P6)")
    ap.add_argument("--p4-files", type=int, default=10000)
    ap.add_argument("--p5-shapes", default="8x2,50x4",
                    help="platforms for P5: stacks x services, comma-separated")
    ap.add_argument("--p6-shape", default="8x2", help="the P5 platform P6 changes a config of")
    ap.add_argument("--p5-runs", type=int, default=0,
                    help="converge rounds of P5 (default: --runs); the no-op still gets --runs samples")
    ap.add_argument("--profile", metavar="DIR",
                    help="also run each kargo no-op once under cProfile into DIR")
    ap.add_argument("--keep", action="store_true", help="do not clean up (debugging)")
    ap.add_argument("--cleanup-all", action="store_true",
                    help="remove every kargo-bench-* stack/config/network and kargo-bench/ image, then exit")
    args = ap.parse_args(argv)
    args.cases = {c.strip().upper() for c in args.cases.split(",") if c.strip()}
    # Python's default is to cache compiled modules; a shell that turned it
    # off would make every kargo run compile kargo_tasks again (~25 ms),
    # while the floor's `import doit` reads the cached files pip installed.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    if args.cleanup_all:
        errors = Cleaner(None).run()
        print("\n".join(errors) or "clean")
        return 1 if errors else 0
    if args.runs < 5:
        log(f"warning: --runs {args.runs} < 5")
    if args.profile:
        Path(args.profile).mkdir(parents=True, exist_ok=True)

    rid = secrets.token_hex(2)
    tmp = tempfile.mkdtemp(prefix=f"kargo-bench-{rid}-")
    cleaner = Cleaner(rid)
    cleaner.dirs.append(tmp)
    res = Results()
    base_ref = f"{REGISTRY}/kargo-bench/{rid}/busybox:base"

    def on_term(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_term)

    machine = machine_line()
    log(f"run id {rid}, tmp {tmp}; {machine}")
    failed = None
    try:
        if args.cases & {"P1", "P2", "P3", "P5"}:
            log(f"building {base_ref}")
            build_base(tmp, base_ref, rid)
            cleaner.see_images()
        if args.cases & {"P1", "P2", "P3"}:
            p1_p2_p3(args, tmp, rid, base_ref, cleaner, res)
            remove_stacks(f"kargo-bench-{rid}-")
        if "P4" in args.cases:
            p4(args, tmp, res)
        if "P5" in args.cases:
            p5(args, tmp, rid, base_ref, cleaner, res)
    except BaseException as exc:  # noqa: BLE001 - print what we have, then clean up
        failed = exc
        log(f"aborted: {type(exc).__name__}: {exc}")
    finally:
        if args.keep:
            log(f"--keep: left run {rid} in place (bench/run.py --cleanup-all removes it)")
        else:
            log("cleaning up")
            errors = cleaner.run()
            for e in errors:
                log(f"cleanup: {e}")
    res.print(machine)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
