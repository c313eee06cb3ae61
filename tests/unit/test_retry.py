"""The one retry on the engine's update conflict (engine/client.retry_on_conflict),
used by the CLI's updates (swarm) and node labels (labels)."""
import pytest

from kargo_tasks.base.errors import EngineError
from kargo_tasks.engine.client import CONFLICT, RETRIES, retry_on_conflict


def attempts(failures, error=f"update failed: rpc error: {CONFLICT}"):
    """An attempt that is refused `failures` times, and the attempts made."""
    made = []

    def attempt(n):
        made.append(n)
        if len(made) <= failures:
            raise EngineError(error)
        return f"done at {n}"
    return attempt, made


def test_a_conflict_is_tried_again_with_the_attempts_number():
    attempt, made = attempts(2)
    assert retry_on_conflict(attempt) == "done at 2"
    assert made == [0, 1, 2]


def test_the_last_conflict_is_raised():
    attempt, made = attempts(RETRIES)
    with pytest.raises(EngineError, match=CONFLICT):
        retry_on_conflict(attempt)
    assert made == list(range(RETRIES))


def test_another_error_is_raised_at_once():
    attempt, made = attempts(1, error="no such node")
    with pytest.raises(EngineError, match="no such node"):
        retry_on_conflict(attempt)
    assert made == [0]
