"""base/actions.Check: doit's `uptodate` protocol as a class (as doit's own
result_dep and config_changed are), so `doit plan` recognises a check that
explains itself by isinstance, not by attributes on a closure."""
import inspect

from kargo_tasks.base.actions import Check, EngineCheck
from kargo_tasks.base.errors import EngineError


def test_a_check_is_up_to_date_when_there_is_no_reason_and_explains_the_reasons():
    check = Check("inputs_unchanged", lambda values: [f"{k} changed" for k in values],
                  detail=lambda: ["  more"])
    # doit passes `task` and `values` by the parameter names it reads
    assert list(inspect.signature(check).parameters) == ["task", "values"]
    assert check(None, {}) is True
    assert check(None, {"A": 1}) is False
    assert check.explain({"A": 1}) == ["A changed"]
    assert check.detail() == ["  more"] and Check("x", lambda v: []).detail() == []
    assert check.__name__ == "inputs_unchanged"


def test_an_engine_check_is_stale_when_the_engine_errs_and_says_its_reason():
    def broken():
        raise EngineError("engine unreachable")
    assert list(inspect.signature(EngineCheck(lambda: True, "r")).parameters) == []
    assert EngineCheck(lambda: True, "r")() is True
    assert EngineCheck(broken, "node labels differ")() is False
    assert isinstance(EngineCheck(broken, "r"), Check)
    assert EngineCheck(broken, "node labels differ").explain({}) == ["node labels differ"]
