"""`templates.render`: copy, `.tpl` substitution, sandboxed Jinja, YAML checks."""
import pytest

from kargo_tasks.base.errors import ConfigError
from kargo_tasks.workspace.environment import Environment
from kargo_tasks.workspace.merge import Source
from kargo_tasks.workspace.templates import render

ENV = Environment({"WHO": "world", "PORT": "8080", "EMPTY": "", "NAMES": "a b c",
                   "PASSWORD": "s3cr3t-canary"}, {})


@pytest.fixture
def make(tmp_path):
    """make(kind, text or bytes, out=...) -> (Source, out path)."""
    def make(kind, content, out="out.txt"):
        suffix = {"copy": "", "subst": ".tpl", "jinja": ".j2"}[kind]
        path = tmp_path / "src" / (out + suffix)
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            content = content.encode("utf-8")
        path.write_bytes(content)
        return Source(path, kind, "defaults"), out
    return make


def rendered(make, kind, content, out="out.txt", env=ENV):
    source, out = make(kind, content, out)
    return render(source, out, env)


def render_error(make, kind, content, out="out.txt", env=ENV):
    source, out = make(kind, content, out)
    with pytest.raises(ConfigError) as info:
        render(source, out, env)
    return str(info.value), str(source.path)


# --- copy -----------------------------------------------------------------------

@pytest.mark.parametrize("content", [
    b"plain = 1\n",
    b"${WHO} {{ WHO }} is not rendered\n",
    b"\x00\xff binary \xfe",
    b"",
    "unicode é 日本\r\n".encode("utf-8"),
])
def test_copy_returns_the_source_bytes_and_reads_nothing(make, content):
    assert rendered(make, "copy", content) == (content, set())


def test_copy_of_a_missing_file(make):
    source, out = make("copy", b"x")
    source.path.unlink()
    with pytest.raises(ConfigError, match="cannot read"):
        render(source, out, ENV)


# --- subst (.tpl) -----------------------------------------------------------------

@pytest.mark.parametrize("text, expected, reads", [
    ("hello ${WHO}\n", b"hello world\n", {"WHO"}),
    ("${WHO}:${PORT}", b"world:8080", {"WHO", "PORT"}),
    ("${NOPE:-fallback} ${EMPTY:-e}", b"fallback e", {"NOPE", "EMPTY"}),
    ("${WHO:-${NOPE}}", b"world", {"WHO"}),
    # the references of .env values: $NAME too, $$ for a literal $
    ("$WHO:$PORT/x", b"world:8080/x", {"WHO", "PORT"}),
    ("pa$$word $$ {{ WHO }} $1 a $ b", b"pa$word $ {{ WHO }} $1 a $ b", set()),
    ("no variables\n", b"no variables\n", set()),
    ("caf\u00e9 ${WHO} \U0001f680", "caf\u00e9 world \U0001f680".encode("utf-8"), {"WHO"}),
])
def test_subst(make, text, expected, reads):
    assert rendered(make, "subst", text) == (expected, reads)


def test_subst_undefined_names_file_and_line(make):
    message, path = render_error(make, "subst", "a\nb\nport ${NOPE}\n")
    assert message.startswith(f"{path}:3: variable NOPE is not defined")


def test_subst_required_message(make):
    message, path = render_error(make, "subst", "${NOPE:?set NOPE in .env}")
    assert message == f"{path}:1: variable NOPE is required: set NOPE in .env"


def test_subst_of_non_utf8_template(make):
    message, path = render_error(make, "subst", b"ok\n\xff\n")
    assert message == f"{path}: template is not UTF-8 text (byte 3)"


# --- jinja (.j2) ---------------------------------------------------------------------

@pytest.mark.parametrize("text, expected, reads", [
    ("<p>{{ WHO }}</p>\n", b"<p>world</p>\n", {"WHO"}),
    ("{{ PORT | int + 1 }}", b"8081", {"PORT"}),
    ("{% for n in NAMES.split() %}{{ n }};{% endfor %}", b"a;b;c;", {"NAMES"}),
    ("{% if NOPE is defined %}{{ NOPE }}{% else %}none{% endif %}", b"none", {"NOPE"}),
    ("{{ NOPE | default('d') }}", b"d", {"NOPE"}),
    ("{% set x = WHO %}{{ x }}", b"world", {"WHO"}),
    ("{{ '<b>' }} & {{ WHO }}", b"<b> & world", {"WHO"}),       # no HTML escaping
    ("ends with a newline\n", b"ends with a newline\n", set()),  # kept
    ("${WHO} stays", b"${WHO} stays", set()),
    ("{{ 'caf\u00e9' }} {{ WHO }}", "caf\u00e9 world".encode("utf-8"), {"WHO"}),
])
def test_jinja(make, text, expected, reads):
    assert rendered(make, "jinja", text) == (expected, reads)


def test_jinja_reads_names_of_branches_not_taken(make):
    # the output depends on EMPTY; PORT would matter if EMPTY changed
    text = "{% if EMPTY %}{{ PORT }}{% endif %}"
    assert rendered(make, "jinja", text) == (b"", {"EMPTY", "PORT"})


def test_jinja_undefined_variable_names_the_line(make):
    message, path = render_error(make, "jinja", "one\ntwo\n{{ NOPE }}\n")
    assert message == f"{path}:3: undefined in template: 'NOPE' is undefined"


def test_jinja_undefined_attribute_names_the_line(make):
    message, path = render_error(make, "jinja", "{{ WHO }}\n{{ WHO.nope.deeper }}\n")
    assert message.startswith(f"{path}:2: undefined in template: ")


def test_jinja_undefined_in_a_loop(make):
    text = "start\n{% for n in NAMES.split() %}\n{{ n }} {{ MISSING }}\n{% endfor %}\n"
    message, path = render_error(make, "jinja", text)
    assert message.startswith(f"{path}:3: undefined in template: 'MISSING'")


@pytest.mark.parametrize("text, line", [
    ("{{ ''.__class__.__mro__ }}", 1),
    ("ok\n{{ ''.__class__.__mro__[1].__subclasses__() }}", 2),
    ("{{ WHO.__class__ }}", 1),
    ("{{ ().__class__.__bases__[0] }}", 1),
    ("{{ self.__init__.__globals__ }}", 1),
    ("{{ WHO.__init__.__globals__['os'] }}", 1),
    ("{{ cycler.__init__.__globals__.os }}", 1),
    ("{{ WHO|attr('__class__') }}", 1),
])
def test_jinja_sandbox_refuses_escapes(make, text, line):
    message, path = render_error(make, "jinja", text)
    assert message.startswith(f"{path}:{line}: ")
    assert "refused by the sandbox" in message or "undefined in template" in message
    assert "class 'object'" not in message


def test_jinja_sandbox_names_the_refused_attribute(make):
    message, path = render_error(make, "jinja", "{{ ''.__class__.__mro__ }}")
    assert message == (f"{path}:1: template refused by the sandbox: "
                       "access to attribute '__class__' of 'str' object is unsafe.")


@pytest.mark.parametrize("text, line", [
    ("a\nb {% if %}\n", 2),
    ("{{ WHO", 1),
    ("x\ny\n{% for x in %}{% endfor %}", 3),
    ("{% if WHO %}\nno end\n", 1),       # the block left open
    ("x\n{{ WHO | nosuchfilter }}", 2),
])
def test_jinja_syntax_error_names_the_line(make, text, line):
    message, path = render_error(make, "jinja", text)
    assert message.startswith(f"{path}:{line}: template syntax error: ")


def test_jinja_unknown_test_names_the_line(make):
    message, path = render_error(make, "jinja", "a\n{% if WHO is nosuchtest %}{% endif %}")
    assert message == f"{path}:2: template error: No test named 'nosuchtest' found."


@pytest.mark.parametrize("text, kind", [
    ("a\n{{ 1 / 0 }}", "ZeroDivisionError"),
    ("{{ range(10 ** 9) | list | length }}", "OverflowError"),
    ("{{ '{x}'.format() }}", "KeyError"),
])
def test_jinja_python_errors_are_config_errors(make, text, kind):
    message, path = render_error(make, "jinja", text)
    assert message.startswith(f"{path}:") and message.endswith(f"template failed: {kind}")


def test_jinja_python_errors_do_not_show_values(make):
    message, _ = render_error(make, "jinja", "{{ ('{' + PASSWORD + '}').format() }}")
    assert "s3cr3t-canary" not in message


def test_jinja_of_non_utf8_template(make):
    message, path = render_error(make, "jinja", b"\xc3(")
    assert message == f"{path}: template is not UTF-8 text (byte 0)"


# --- YAML outputs ------------------------------------------------------------------

BAD_YAML = "services:\n  front:\n    image: x\n  bad: [unclosed\n"


@pytest.mark.parametrize("kind", ["copy", "subst", "jinja"])
@pytest.mark.parametrize("out", ["configs/front.yml", "configs/x.yaml"])
def test_yaml_output_that_does_not_parse(make, kind, out):
    message, path = render_error(make, kind, BAD_YAML, out=out)
    assert message.startswith(f"{path}:5: not valid YAML: ")


@pytest.mark.parametrize("kind", ["copy", "subst", "jinja"])
def test_a_compose_file_is_not_read_here(make, kind):
    # read as Docker reads it when a stack that uses it resolves: a broken one
    # is that stack's error, not every stack's (and PyYAML would refuse \')
    assert rendered(make, kind, BAD_YAML, out="deploy/front.yml")[0] == BAD_YAML.encode()


def test_yaml_error_line_is_that_of_the_rendered_problem(make):
    text = "a: ${WHO}\nb: c: d\n"
    message, path = render_error(make, "subst", text, out="x.yml")
    assert message == f"{path}:2: not valid YAML: mapping values are not allowed here"


def test_yaml_made_invalid_by_a_value(make):
    env = Environment({"IMAGE": "x: y"}, {})
    message, path = render_error(make, "subst", "image: ${IMAGE}\n", out="x.yml", env=env)
    assert message.startswith(f"{path}:1: not valid YAML")


def test_yaml_error_does_not_show_values(make):
    env = Environment({"PASSWORD": "s3cr3t-canary: ["}, {})
    message, _ = render_error(make, "subst", "password: ${PASSWORD}\n", out="x.yml", env=env)
    assert "s3cr3t-canary" not in message


@pytest.mark.parametrize("text", [
    "a: 1\n",
    "",
    "# only a comment\n",
    "a: 1\n---\nb: 2\n",             # several documents
    "ref: !Ref Something\n",        # application tags
    "day: 2001-13-45\n",            # looks like a date, is not one
    "base: &b {x: 1}\nother: *b\n",
])
def test_valid_yaml_outputs(make, text):
    assert rendered(make, "copy", text, out="x.yml") == (text.encode(), set())


def test_non_yaml_outputs_are_not_checked(make):
    for out in ("x.conf", "x.yml.orig", "x.json", "yml"):
        assert rendered(make, "copy", BAD_YAML, out=out)[0] == BAD_YAML.encode()


def test_yaml_check_applies_after_rendering(make):
    env = Environment({"LIST": "[1, 2]"}, {})
    assert rendered(make, "jinja", "items: {{ LIST }}\n", out="x.yml", env=env) == \
        (b"items: [1, 2]\n", {"LIST"})
