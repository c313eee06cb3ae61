"""Run doit like `python -m doit ...`, recording every Docker engine round
trip (docker-py HTTP requests, `docker` CLI runs), fsyncs, sleeps and the
total wall time into the JSON file named by $KARGO_BENCH_TRACE. Used by bench/profile.py.

    KARGO_BENCH_TRACE=out.json python bench/_trace.py -f dodo.py deploy

KARGO_BENCH_NO_FSYNC=1 turns os.fsync into a no-op (what-if measurements only).
"""
import atexit
import json
import os
import runpy
import subprocess
import sys
import time

T0 = time.perf_counter()
calls = []      # (kind, what, seconds)
marks = {}


def _record(kind, what, start):
    calls.append((kind, what, time.perf_counter() - start))


def _patch_requests():
    import requests
    send = requests.Session.send

    def timed_send(self, request, **kw):
        start = time.perf_counter()
        try:
            return send(self, request, **kw)
        finally:
            path = request.path_url.split("?", 1)[0]
            # /v1.41/distribution/<ref>/json -> /distribution/*/json
            parts = path.split("/")
            if len(parts) > 2 and parts[1].startswith("v1."):
                parts = parts[2:]
            else:
                parts = parts[1:]
            if parts and parts[0] in ("images", "distribution", "services", "tasks", "configs",
                                      "networks", "nodes") and len(parts) > 2:
                parts = [parts[0], "*"] + parts[-1:]
            _record("http", f"{request.method} /{'/'.join(parts)}", start)
    requests.Session.send = timed_send


def _patch_engine_get():
    """kargo's own questions to the engine (engine.get, plain HTTP)."""
    from kargo_tasks.engine import client as engine
    get = engine.get

    def timed_get(what, path, **kw):
        start = time.perf_counter()
        try:
            return get(what, path, **kw)
        finally:
            parts = path.split("/")[1:]
            if parts and len(parts) > 2:
                parts = [parts[0], "*"] + parts[-1:]
            _record("http", f"GET /{'/'.join(parts)}", start)
    engine.get = timed_get


run = subprocess.run


def timed_run(args, *a, **kw):
    start = time.perf_counter()
    try:
        return run(args, *a, **kw)
    finally:
        if isinstance(args, (list, tuple)) and args and os.path.basename(str(args[0])) == "docker":
            _record("cli", " ".join(map(str, args[:3])), start)
        else:
            _record("subprocess", os.path.basename(str(args[0] if isinstance(args, (list, tuple)) else args)), start)


subprocess.run = timed_run

def _timed(func, kind, what):
    """`func`, recording each call's duration as (kind, what)."""
    def timed(*args, **kw):
        start = time.perf_counter()
        try:
            return func(*args, **kw)
        finally:
            _record(kind, what, start)
    return timed


time.sleep = _timed(time.sleep, "sleep", "time.sleep")
os.fsync = _timed(os.fsync, "fsync", "os.fsync")
if os.environ.get("KARGO_BENCH_NO_FSYNC"):
    # what-if: the cost of one fsync per written file (bench/profile.py)
    os.fsync = lambda fd: _record("fsync", "skipped", time.perf_counter())


# Imported here, not lazily as kargo does: the trace counts round trips and
# their latency, not the import time (bench/profile.py measures that apart).
_patch_requests()
_patch_engine_get()


def _dump():
    out = os.environ.get("KARGO_BENCH_TRACE")
    if not out:
        return
    marks["total"] = time.perf_counter() - T0
    with open(out, "w") as f:
        json.dump({"calls": calls, "marks": marks}, f)


atexit.register(_dump)

if __name__ == "__main__":
    sys.argv = ["doit"] + sys.argv[1:]
    try:
        runpy.run_module("doit", run_name="__main__", alter_sys=True)
    finally:
        _dump()
