"""P4: `doit configure` of a 10,000-file workspace, full and no-op (bench/README.md)."""
import os
import shutil
import sys
from pathlib import Path

from support import FLOOR_DODO, BulkRoot, check_noop, log, run, write


def p4(args, tmp, res):
    root = BulkRoot(Path(tmp) / "bulk")
    log(f"P4: generating a {args.p4_files}-file workspace")
    root.generate(args.p4_files)
    if not shutil.which("rsync"):
        if os.geteuid() == 0:
            log("installing rsync (apt-get)")
            run(["apt-get", "install", "-y", "-qq", "rsync"], check=False,
                env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        if not shutil.which("rsync"):
            run(["apt-get", "update", "-qq"], check=False)
            run(["apt-get", "install", "-y", "-qq", "rsync"],
                env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    # Old trees are renamed aside, not deleted, between rounds: deleting
    # 10,000 files right before a timed write makes both sides pay for it.
    trash = Path(tmp) / "bulk-trash"
    trash.mkdir()
    sync_dst = Path(tmp) / "bulk-rsync"
    # doit's own cost for as many tasks: one trivial copy task per file
    floor = Path(tmp) / "bulk-floor"
    floor.mkdir()
    write(floor / "dodo.py", FLOOR_DODO.format(db=str(floor / "doit.db"), src=str(root.workspace),
                                               dst=str(floor / "out")))
    floor_cmd = [sys.executable, "-m", "doit", "-f", str(floor / "dodo.py")]
    full, cp, noop, rsync, floor_full, floor_noop = [], [], [], [], [], []
    for i in range(args.runs):
        if root.merged.exists():
            os.rename(root.merged, trash / f"kargo-{i}")
        run(["sync"])
        _, t = root.doit("configure")
        full.append(t)
        run(["sync"])
        cp.append(run(["cp", "-R", str(root.workspace), str(trash / f"cp-{i}")])[1])
        proc, t = root.doit("configure")
        if check_noop(proc, f"P4 round {i + 1} no-op configure", res):
            noop.append(t)
        if i == 0:
            run(["rsync", "-a", f"{root.workspace}/", f"{sync_dst}/"])
        rsync.append(run(["rsync", "-a", f"{root.workspace}/", f"{sync_dst}/"])[1])
        if (floor / "out").exists():
            os.rename(floor / "out", trash / f"floor-{i}")
        (floor / "doit.db").unlink(missing_ok=True)
        run(["sync"])
        floor_full.append(run(floor_cmd, cwd=floor)[1])
        floor_noop.append(run(floor_cmd, cwd=floor)[1])
        log(f"P4 round {i + 1}: full {full[-1]:.2f} s vs cp -R {cp[-1]:.2f} s; no-op "
            f"{noop[-1] if noop else float('nan'):.2f} s vs rsync {rsync[-1]:.3f} s; "
            f"doit alone {floor_full[-1]:.2f} s / {floor_noop[-1]:.2f} s")
    files = sum(1 for p in root.merged.rglob("*") if p.is_file()) - len(
        list((root.merged / ".state").rglob("*")))
    res.time_row(f"P4 full `doit configure` ({files} files) vs cp -R", full, cp, "<= 2.00",
                 2.0, "cp -R")
    res.time_row("P4 no-op `doit configure` vs rsync -a no-op", noop, rsync, "<= 1.00", 1.0,
                 "rsync -a")
    # issue 2 asks for one doit task per merged file: doit's own floor
    res.time_row(f"P4 full `doit configure` vs doit alone ({files} trivial copy tasks)",
                 full, floor_full, "- (info)", None, "doit, trivial tasks")
    res.time_row("P4 no-op `doit configure` vs doit alone, no-op", noop, floor_noop,
                 "- (info)", None, "doit, trivial tasks")
    if args.profile:
        root.doit("configure", profile=Path(args.profile) / "p4_noop_configure.prof")
        os.rename(root.merged, trash / "kargo-profile")
        root.doit("configure", profile=Path(args.profile) / "p4_full_configure.prof")
    for d in (root.base, trash, sync_dst, floor):
        shutil.rmtree(d, ignore_errors=True)
