"""KARGO_NOTIFY's body (a pure builder) and its sending over real HTTP to a
local server: captured, refused, an HTTP error, a timeout: each undelivered
one is one warning line naming scheme and host only."""
import time

from support import Silent, Webhook, closed_port

from kargo_tasks.operations.notify import body, send, urls

ENTRIES = [
    {"action": "deploy", "stack": "ows", "sent": {"mapproxy": "changed", "seed": "new"},
     "removed": ["old"], "failures": []},
    {"action": "deploy", "stack": "jobs", "sent": {"migrate": "changed"}, "removed": [],
     "failures": ["service kargo-jobs_migrate failed: 0/1 completed, 3 failed: "
                  "task: non-zero exit (3)"]},
]
FACTS = {"workspace": "/srv/ws", "revision": "0123456789abcdef", "version": "0.1.0",
         "seconds": 12.34}


def test_nothing_changed_and_nothing_failed_is_no_notification():
    assert body("deploy", [], [], **FACTS) is None
    assert body("rollback:web", [{"action": "rollback", "stack": "web", "sent": {},
                                  "removed": [], "failures": []}], [], **FACTS) is None


def test_the_body_says_what_ran_why_and_what_failed():
    # the task's error repeats the entry's line: once in the body
    got = body("deploy", ENTRIES, [ENTRIES[1]["failures"][0], "other: broken"], **FACTS)
    assert got["outcome"] == "failed" and got["command"] == "deploy"
    assert got["stacks"] == ["ows", "jobs"]
    assert got["services"] == [
        {"stack": "ows", "service": "mapproxy", "why": "changed", "action": "deploy"},
        {"stack": "ows", "service": "seed", "why": "new", "action": "deploy"},
        {"stack": "jobs", "service": "migrate", "why": "changed", "action": "deploy"}]
    assert got["removed"] == [{"stack": "ows", "service": "old", "action": "deploy"}]
    assert got["failures"] == [ENTRIES[1]["failures"][0], "other: broken"]
    assert (got["workspace"], got["revision"], got["kargo"], got["duration_seconds"]) == (
        "/srv/ws", "0123456789abcdef", "0.1.0", 12.3)
    assert got["text"].splitlines() == [
        "kargo deploy failed on /srv/ws at 0123456789ab (12s)",
        "ows: mapproxy (changed), seed (new), old (removed)",
        "jobs: migrate (changed)",
        ENTRIES[1]["failures"][0], "other: broken"]


def test_a_failure_alone_is_a_notification():
    got = body("deploy", [], ["ows.yml:3: services.web.image must be a string"], **FACTS)
    assert got["outcome"] == "failed" and got["services"] == []


def test_urls_are_separated_by_blanks_or_commas():
    assert urls(" http://a/x,http://b/y \n https://c ") == ["http://a/x", "http://b/y", "https://c"]
    assert urls(None) == [] and urls("") == []


def test_a_post_reaches_each_url_and_the_undelivered_are_one_warning_each():
    good, error = Webhook(), Webhook(status=500)
    silent = Silent()
    refused = f"http://127.0.0.1:{closed_port()}/hooks/SECRET-PATH"
    try:
        payload = body("deploy", ENTRIES[:1], [], **FACTS)
        start = time.monotonic()
        warnings = send([good.url, refused, error.url, silent.url], payload, timeout=1.0)
        assert time.monotonic() - start < 5
        assert len(good.requests) == 1 and len(error.requests) == 1
        request = good.requests[0]
        assert request["type"] == "application/json" and request["json"] == payload
        assert request["path"] == "/hooks/T0K3N-path"
        assert len(warnings) == 3
        assert warnings[0].startswith("notification not delivered to http://127.0.0.1:")
        assert "HTTP 500" in warnings[1]
        assert "timed out" in warnings[2]
        # a webhook's path is its secret: never in a warning
        assert not any("SECRET-PATH" in w or "T0K3N" in w for w in warnings)
    finally:
        good.close(), error.close(), silent.close()
