"""engine.get's query strings: what docker-py would send, without docker-py."""
import json
import urllib.parse

from kargo_tasks.engine import _query


def test_filters_are_json_lists_and_booleans_words():
    query = urllib.parse.parse_qs(_query({"filters": {"label": "a=b", "service": ["x", "y"]},
                                          "status": True}))
    assert json.loads(query["filters"][0]) == {"label": ["a=b"], "service": ["x", "y"]}
    assert query["status"] == ["true"]


def test_no_params_no_query():
    assert _query({}) == ""
