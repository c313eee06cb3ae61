"""The one retry on the engine's update conflict (engine/client.retry_on_conflict),
used by the CLI's updates (swarm) and node labels (labels), and the general retry
behind it, which also builds an image again after the engine's cache-lookup race."""
import pytest

from kargo_tasks.base.errors import EngineError
from kargo_tasks.deploy.images import raced_an_image_removal
from kargo_tasks.engine.client import CONFLICT, RETRIES, retry, retry_on_conflict


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


def test_attempts_stop_at_the_number_given_and_each_error_is_asked():
    asked = []

    def transient(message):
        asked.append(message)
        return "busy" in message
    attempt, made = attempts(5, error="engine busy")
    with pytest.raises(EngineError, match="busy"):
        retry(attempt, transient, 3)
    assert made == [0, 1, 2] and asked == ["engine busy"] * 2


# the message of moby's classic builder when its cache lookup met an image
# removed meanwhile (daemon GetCachedImage), as the build stream gives it
RACED = 'unable to find image "sha256:814f5279f877c37bdd4003c324fb473105e048dd164d822c85f0503a8986b6cc"'


@pytest.mark.parametrize("message, raced", [
    (f"build of 127.0.0.1:5000/a/b:1 failed: {RACED}", True),
    ("build of a:1 failed: pull access denied for nothere, repository does not exist", False),
    ('build of a:1 failed: unable to find image "nothere:latest"', False),
    ("build of a:1 failed: The command '/bin/sh -c exit 3' returned a non-zero code: 3", False),
])
def test_a_build_is_tried_again_only_when_the_cache_lookup_raced_a_removal(message, raced):
    assert raced_an_image_removal(message) is raced
