"""compose/shortsyntax's one-rule helpers: a config or secret reference in
its long form, and labels in their mapping form (as the docker CLI reads a
labels list: compose-go's `Labels`, `key=value`, a bare key empty)."""
from kargo_tasks.compose.shortsyntax import labels, reference


def test_labels_of_a_list_read_as_the_cli_reads_them():
    assert labels(["a=1", "b", "c=x=y", "d="]) == {"a": "1", "b": "", "c": "x=y", "d": ""}
    assert labels({"a": "1"}) == {"a": "1"} and labels(None) == {} and labels([]) == {}
    mapping = {"a": "1"}
    assert labels(mapping) is not mapping  # a copy: the caller adds its own


def test_a_reference_in_its_long_form():
    assert reference("site") == {"source": "site"}
    long = {"source": "site", "target": "/etc/site"}
    assert reference(long) is long
