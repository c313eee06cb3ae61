"""`interpolate.substitute`: the `${VAR}` forms, `$` handling, errors and reads."""
import pytest

from kargo_tasks.errors import ConfigError
from kargo_tasks.interpolate import line_of, substitute

ENV = {"A": "a", "B": "b", "EMPTY": "", "PASS": "pa$$word"}


def sub(text, env=ENV, **kw):
    return substitute(text, env.get, where="f.tpl", **kw)


def error(text, env=ENV, **kw):
    with pytest.raises(ConfigError) as info:
        sub(text, env, **kw)
    return str(info.value)


@pytest.mark.parametrize("text, expected", [
    ("${A}", "a"),
    ("x${A}y${B}z", "xaybz"),
    ("${A}${A}", "aa"),
    ("${EMPTY}", ""),
    ("no variables here", "no variables here"),
    ("", ""),
    ("multi\n${A}\nline\n", "multi\na\nline\n"),
    ("${PASS}", "pa$$word"),  # a value is never re-expanded
])
def test_plain_reference(text, expected):
    assert sub(text) == expected


@pytest.mark.parametrize("text, expected", [
    # :- covers unset and empty
    ("${UNSET:-d}", "d"),
    ("${EMPTY:-d}", "d"),
    ("${A:-d}", "a"),
    # - covers unset only
    ("${UNSET-d}", "d"),
    ("${EMPTY-d}", ""),
    ("${A-d}", "a"),
    # empty defaults
    ("${UNSET:-}", ""),
    ("${UNSET-}", ""),
    # defaults may hold spaces, `:`, `-`, `$` and text around them
    ("<${UNSET:-a b: c-d}>", "<a b: c-d>"),
    ("${UNSET:-cost $5}", "cost $5"),
])
def test_defaults(text, expected):
    assert sub(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("${UNSET:-${A}}", "a"),
    ("${UNSET:-${EMPTY:-${B}}}", "b"),
    ("${UNSET:-x${A}y}", "xay"),
    ("${A:-${B}}", "a"),
    ("${UNSET:-${OTHER:-deep}}!", "deep!"),
])
def test_nested_defaults(text, expected):
    assert sub(text) == expected


@pytest.mark.parametrize("text", [
    "${A:-${UNDEFINED}}",
    "${A-${UNDEFINED}}",
    "${A:-${UNDEFINED:?must be set}}",
    "${A:-${UNDEFINED?must be set}}",
    "${A:?${UNDEFINED}}",
    "${A:-x${UNDEFINED:-${ALSO_UNDEFINED}}y}",
])
def test_unused_default_may_name_undefined_variables(text):
    assert sub(text) == "a"


@pytest.mark.parametrize("text, message", [
    ("${UNSET:?give it a value}", "variable UNSET is required: give it a value"),
    ("${EMPTY:?give it a value}", "variable EMPTY is required: give it a value"),
    ("${UNSET?give it a value}", "variable UNSET is required: give it a value"),
    ("${UNSET:?}", "variable UNSET is required: not set"),
    ("${UNSET:?set ${A} too}", "variable UNSET is required: set a too"),
])
def test_required_forms_fail_with_the_message(text, message):
    assert error(text) == f"f.tpl:1: {message}"


@pytest.mark.parametrize("text, expected", [
    ("${EMPTY?message}", ""),    # ? accepts empty
    ("${A:?message}", "a"),
    ("${A?message}", "a"),
])
def test_required_forms_pass_when_set(text, expected):
    assert sub(text) == expected


@pytest.mark.parametrize("text", [
    "pa$word",
    "$5",
    "trailing $",
    "$",
    "$$",
    "a $ b",
    "$A",          # only the braced form is a reference
    "$(A)",
    "${A}$",
    "}",
    "{A}",
])
def test_dollar_not_followed_by_brace_is_kept(text):
    expected = text.replace("${A}", "a")
    assert sub(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("$$", "$"),
    ("pa$$word", "pa$word"),
    ("$${A}", "${A}"),
    ("$${UNDEFINED}", "${UNDEFINED}"),  # escaped: not a reference at all
    ("$$$${A}", "$${A}"),
    ("$$${A}", "$a"),
    ("cost $5", "cost $5"),
    ("${UNSET:-$$}", "$"),
    ("${UNSET:-$${A}}", "${A}"),
])
def test_dollar_escape(text, expected):
    assert sub(text, dollar_escape=True) == expected


def test_without_dollar_escape_double_dollar_is_two_dollars():
    assert sub("$$") == "$$"
    assert sub("$${A}") == "$a"


def test_undefined_variable_names_file_line_and_variable():
    message = error("one\ntwo\nthree ${NOPE}\n")
    assert message.startswith("f.tpl:3: variable NOPE is not defined")
    assert "${NOPE:-default}" in message


def test_undefined_line_counts_from_first_line():
    assert error("x\n${NOPE}", first_line=10).startswith("f.tpl:11: ")
    assert error("${NOPE}", first_line=7).startswith("f.tpl:7: ")


def test_error_line_is_that_of_the_reference_not_of_the_end():
    text = "a\n${UNSET:?needed}\nb\nc\n"
    assert error(text).startswith("f.tpl:2: ")


def test_undefined_inside_a_used_default_is_an_error():
    assert error("\n${UNSET:-${NOPE}}").startswith("f.tpl:2: variable NOPE is not defined")


@pytest.mark.parametrize("text, line", [
    ("${A", 1),
    ("x\n${A", 2),
    ("${", 1),
    ("${A:-default", 1),
    ("${A:-${B}", 1),
    ("top\n${UNSET:-x\n\n\n", 2),   # the line of the `${`, not the last one
    ("${UNSET:?message\nmore", 1),
])
def test_unterminated_reference(text, line):
    assert error(text) == f"f.tpl:{line}: unterminated ${{ (missing }})"


@pytest.mark.parametrize("text, quoted", [
    ("${1A}", "'${1A}'"),
    ("${}", "'${}'"),
    ("${-x}", "'${-x}'"),
    ("${ A}", "'${ A}'"),
])
def test_bad_reference(text, quoted):
    assert error(text) == f"f.tpl:1: bad variable reference {quoted}"


@pytest.mark.parametrize("text", ["${A B}", "${A:x}", "${A.b}", "${A!}"])
def test_bad_character_after_the_name(text):
    assert "bad variable reference starting '${A" in error(text)


def test_bad_reference_on_a_later_line():
    assert error("ok\n\nthen ${9}").startswith("f.tpl:3: bad variable reference")


@pytest.mark.parametrize("text, names", [
    ("${A} ${B}", {"A", "B"}),
    ("${UNSET:-d}", {"UNSET"}),
    ("${UNSET:-${A}}", {"UNSET", "A"}),
    ("${A:-${B}}", {"A"}),                 # unused default: B not looked up
    ("${EMPTY-${B}}", {"EMPTY"}),
    ("${EMPTY:-${B:-${C:-x}}}", {"EMPTY", "B"}),  # B is set: C not needed
    ("pa$word $5 $A", set()),
    ("${A?m}${UNSET?m}", {"A", "UNSET"}),  # up to the error
])
def test_reads_collects_every_name_looked_up(text, names):
    reads = set()
    try:
        substitute(text, ENV.get, where="f", reads=reads)
    except ConfigError:
        pass
    assert reads == names


def test_reads_without_dollar_escape_and_with():
    reads = set()
    substitute("$${A}", ENV.get, where="f", reads=reads, dollar_escape=True)
    assert reads == set()
    substitute("$${A}", ENV.get, where="f", reads=reads)
    assert reads == {"A"}


def test_reads_keeps_what_was_read_before_an_error():
    reads = {"EARLIER"}
    with pytest.raises(ConfigError):
        substitute("${A} ${NOPE} ${B}", ENV.get, where="f", reads=reads)
    assert reads == {"EARLIER", "A", "NOPE"}


def test_lookup_is_called_per_name_and_none_means_unset():
    calls = []

    def lookup(name):
        calls.append(name)
        return {"X": "1"}.get(name)

    assert substitute("${X}${Y:-y}", lookup, where="f") == "1y"
    assert calls == ["X", "Y"]


@pytest.mark.parametrize("offset, first_line, expected", [
    (0, 1, 1), (2, 1, 1), (3, 1, 2), (4, 1, 2), (6, 1, 3), (3, 5, 6),
])
def test_line_of(offset, first_line, expected):
    assert line_of("ab\ncd\nef", offset, first_line) == expected
