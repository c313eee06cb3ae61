"""How long a deploy waits: KARGO_DEPLOY_TIMEOUT (engine/swarm.deploy_timeout)
and the window of stable tasks KARGO_STABLE_SECONDS (swarm.stable_seconds),
read from the environment (defaults, workspace `.env`, shell) and refused,
naming where they were set, when they are no duration."""
import pytest

from kargo_tasks.base.errors import KargoError
from kargo_tasks.engine.swarm import STABLE, deploy_timeout, stable_seconds
from kargo_tasks.workspace.environment import Environment


def env(**values):
    return Environment(values, {name: "/ws/.env:3" for name in values})


def test_unset_they_are_kargos_own():
    assert stable_seconds(env()) == STABLE == 3.0
    assert deploy_timeout(env()) == 300.0


def test_a_set_value_is_taken():
    assert stable_seconds(env(KARGO_STABLE_SECONDS="1")) == 1.0
    assert stable_seconds(env(KARGO_STABLE_SECONDS="0.5")) == 0.5
    assert deploy_timeout(env(KARGO_DEPLOY_TIMEOUT="60")) == 60.0


@pytest.mark.parametrize("value", ["", "abc", "nan", "inf", "-5", "0", "1s"])
@pytest.mark.parametrize("read, name", [(stable_seconds, "KARGO_STABLE_SECONDS"),
                                        (deploy_timeout, "KARGO_DEPLOY_TIMEOUT")])
def test_what_is_no_duration_is_one_line_naming_where_it_was_set(read, name, value):
    with pytest.raises(KargoError) as caught:
        read(env(**{name: value}))
    assert str(caught.value) == f"/ws/.env:3: {name} must be a number of seconds"
