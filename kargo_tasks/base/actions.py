"""doit action plumbing: an operator's error becomes one line, not a traceback.

doit prints a traceback for an exception raised by a python-action but only
the message of a `TaskFailed` it returns; KARGO_DEBUG=1 keeps the traceback.
"""
import gc
import inspect
import os
from collections.abc import Callable
from typing import Any

from .errors import KargoError


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


class Check:
    """A doit `uptodate` check that says why it is stale: up to date when
    `why(values)` gives no reason. `doit plan` recognises it by its class
    (doit's own checks are classes too: `result_dep`, `config_changed`) and
    asks `explain(values)` for the reasons and `detail()` for more lines it
    shows when the task would run (what a run need not know, and may cost
    more to find)."""
    # doit inspects the signature of every uptodate callable of every task on
    # every run: one, made once, names the `task` and `values` it passes
    __signature__ = inspect.Signature([
        inspect.Parameter("task", inspect.Parameter.POSITIONAL_OR_KEYWORD),
        inspect.Parameter("values", inspect.Parameter.POSITIONAL_OR_KEYWORD)])

    def __init__(self, name: str, why: Callable[[dict], list[str]],
                 detail: Callable[[], list[str]] | None = None) -> None:
        self.__name__ = name
        self._why = why
        self._detail = detail

    def __call__(self, task: Any, values: dict) -> bool:
        return not self._why(values)

    def explain(self, values: dict) -> list[str]:
        return self._why(values)

    def detail(self) -> list[str]:
        return self._detail() if self._detail is not None else []


class EngineCheck(Check):
    """A check that asks the engine: an engine error means "not up to date",
    so the action runs and reports it as one line. `reason` is what `doit
    plan` says when it is not up to date."""
    __signature__ = inspect.Signature([])  # doit passes it nothing

    def __init__(self, ask: Callable[[], Any], reason: str) -> None:
        super().__init__("engine_check", lambda values: [reason])
        self._ask = ask

    def __call__(self) -> bool:  # type: ignore[override]  # doit calls it bare
        try:
            return bool(self._ask())
        except KargoError:
            return False
