"""doit action plumbing: an operator's error becomes one line, not a traceback.

doit prints a traceback for an exception raised by a python-action but only
the message of a `TaskFailed` it returns; KARGO_DEBUG=1 keeps the traceback.
"""
import gc
import inspect
import os

from .errors import KargoError
from collections.abc import Callable
from typing import Any


def failing(err: Exception) -> Callable[[], Any]:
    """A doit action that fails with `err` as one line."""
    def fail():
        return _task_failed(err)
    fail.__name__ = "fail"
    return fail


def guarded(func: Callable[..., Any], *args: Any) -> Callable[..., Any]:
    """Run an action, turning a KargoError into doit's one-line TaskFailed.

    The wrapper shows doit the parameters of `func` after `args`, so doit
    still passes task params (`--workspace`) and `targets` by name."""
    def action(**kwargs):
        gc.enable()  # off while doit loads and checks tasks (config.py)
        try:
            return func(*args, **kwargs)
        except KargoError as err:
            if os.environ.get("KARGO_DEBUG"):
                raise
            return _task_failed(err)
    action.__signature__ = _signature_after(func, len(args))  # type: ignore[attr-defined]
    action.__name__ = getattr(func, "__name__", "action")
    return action


_SIGNATURES: dict = {}


def _signature_after(func, skipped):
    """inspect.Signature of `func` without its first `skipped` parameters,
    computed once per function: a configure run makes thousands of actions
    of the same one."""
    key = (func, skipped)
    if key not in _SIGNATURES:
        params = list(inspect.signature(func).parameters.values())[skipped:]
        _SIGNATURES[key] = inspect.Signature(params)
    return _SIGNATURES[key]


def _task_failed(err):
    from doit.exceptions import TaskFailed
    return TaskFailed(str(err))


def engine_check(func: Callable[[], Any], reason: str) -> Callable[..., Any]:
    """A doit `uptodate` callable that asks the engine: an engine error means
    "not up to date", so the action runs and reports it as one line.
    `reason` is what `doit plan` says when it is not up to date."""
    def check():
        try:
            return func()
        except KargoError:
            return False
    check.__name__ = "engine_check"
    check.explain = lambda values: [reason]  # type: ignore[attr-defined]
    return check


def checker(name: str, why: Callable[[dict], list[str]],
            detail: Callable[[], list[str]] | None = None) -> Callable[..., Any]:
    """An `uptodate` callable from `why(values) -> [reasons]`: up to date
    when there is no reason, and `explain` tells the reasons. `detail()`:
    more lines `doit plan` shows when the task would run (what a run needs
    not know, and may cost more to find)."""
    def check(task, values):
        return not why(values)
    check.__name__ = name
    check.explain = why  # type: ignore[attr-defined]
    if detail is not None:
        check.detail = detail  # type: ignore[attr-defined]
    # doit inspects every uptodate callable of every task on every run
    check.__signature__ = _CHECK_SIGNATURE  # type: ignore[attr-defined]
    return check


_CHECK_SIGNATURE = inspect.Signature([
    inspect.Parameter("task", inspect.Parameter.POSITIONAL_OR_KEYWORD),
    inspect.Parameter("values", inspect.Parameter.POSITIONAL_OR_KEYWORD)])
