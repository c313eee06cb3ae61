"""`interpolate.substitute`: the compose specification's forms, `$` handling, errors and reads."""
import pytest

from kargo_tasks.base.errors import ConfigError
from kargo_tasks.workspace.interpolate import line_of, substitute

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
    ("$A", "a"),              # unbraced, as the compose specification has it
    ("$A/$B", "a/b"),
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


# What compose-go's template.Substitute (Docker Compose v2, the compose
# specification's reference) gives for the same text and A=a, B=b, EMPTY="":
# recorded from that code, so kargo is held to it and not to our reading.
COMPOSE_GO = [
    ("$A", "a"), ("${A}", "a"), ("$A.b", "a.b"), ("$A-x", "a-x"), ("x$A$B", "xab"),
    ("${A}}", "a}"), ("${UNSET:-d}}", "d}"), ("${UNSET:-{x}}", "{x}"), ("${UNSET:-a}b}", "ab}"),
    ("${UNSET:-${A}}", "a"), ("${UNSET:-${EMPTY:-${B}}}", "b"), ("${UNSET:-x${A}y}", "xay"),
    ("${A:-${B}}", "a"), ("${EMPTY-d}", ""), ("${EMPTY:-d}", "d"),
    ("${A:+r}", "r"), ("${EMPTY:+r}", ""), ("${UNSET:+r}", ""), ("${A+r}", "r"),
    ("${EMPTY+r}", "r"), ("${UNSET+r}", ""), ("${A:+x${B}y}", "xby"), ("${UNSET+${B}}", ""),
    ("$$", "$"), ("$$A", "$A"), ("$${A}", "${A}"), ("$$$A", "$a"), ("$$$$", "$$"),
    ("${UNSET:-$$}", "$"), ("${UNSET:-$${A}}", "${A}"),
    ("$1", "$1"), ("a $ b", "a $ b"), ("$-x", "$-x"), ("x$", "x$"), ("$(A)", "$(A)"),
    ("${UNSET:-a:b}", "a:b"), ("${UNSET-a-b}", "a-b"), ("${A-x:-y}", "a"), ("${EMPTY-x:-y}", ""),
    ("${UNSET:-cost $5}", "cost $5"), ("${A:?m}", "a"), ("${EMPTY?m}", ""),
]


@pytest.mark.parametrize("text, expected", COMPOSE_GO)
def test_as_compose_go_substitutes(text, expected):
    assert sub(text) == expected


@pytest.mark.parametrize("text", ["$1", "a $ b", "$-x", "x$", "$(A)", "${UNSET:-cost $5}"])
def test_a_lone_dollar_is_refused_where_docker_stack_deploy_refuses_it(text):
    # docker stack deploy: "invalid interpolation format ... escape any $ with another $"
    message = error(text, lone="error")
    assert message.startswith("f.tpl:1: a $ must start a reference")
    assert "write $$ for a literal $" in message


@pytest.mark.parametrize("text, expected", [("$$1", "$1"), ("a $$ b", "a $ b"), ("$${A}", "${A}")])
def test_an_escaped_dollar_is_fine_where_a_lone_one_is_refused(text, expected):
    assert sub(text, lone="error") == expected


@pytest.mark.parametrize("text", ["pa$word", "$Ax", "$A_x", "$UNSET"])
def test_an_unbraced_undefined_name_is_an_error(text):
    # compose gives "" with a warning; kargo refuses (README: stricter)
    assert "is not defined" in error(text)


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
    assert error(text) == f"f.tpl:1: bad variable reference {quoted} (write $$ for a literal $)"


@pytest.mark.parametrize("text", ["${A B}", "${A:x}", "${A.b}", "${A!}"])
def test_bad_character_after_the_name(text):
    assert f"bad variable reference {text!r}" in error(text)


def test_bad_reference_on_a_later_line():
    assert error("ok\n\nthen ${9}").startswith("f.tpl:3: bad variable reference")


@pytest.mark.parametrize("text, names", [
    ("${A} ${B}", {"A", "B"}),
    ("${UNSET:-d}", {"UNSET"}),
    ("${UNSET:-${A}}", {"UNSET", "A"}),
    ("${A:-${B}}", {"A"}),                 # unused default: B not looked up
    ("${EMPTY-${B}}", {"EMPTY"}),
    ("${EMPTY:-${B:-${C:-x}}}", {"EMPTY", "B"}),  # B is set: C not needed
    ("pa$$word $5 $A", {"A"}),
    ("${A:+${B}} ${UNSET:+${C}}", {"A", "B", "UNSET"}),
    ("${A?m}${UNSET?m}", {"A", "UNSET"}),  # up to the error
])
def test_reads_collects_every_name_looked_up(text, names):
    reads = set()
    try:
        substitute(text, ENV.get, where="f", reads=reads)
    except ConfigError:
        pass
    assert reads == names


def test_an_escaped_reference_is_not_read():
    reads = set()
    substitute("$${A} $$B", ENV.get, where="f", reads=reads)
    assert reads == set()


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
