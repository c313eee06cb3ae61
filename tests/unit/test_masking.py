"""masking.py: which spans of a rendered config came from values that must
not show, and a config diff that masks them on both sides (the old side by
the spans recorded with it, since its values are no longer known)."""
import difflib
import json

import pytest

from kargo_tasks.workspace import masking, templates
from kargo_tasks.workspace.environment import Environment
from kargo_tasks.workspace.masking import ALL, MASK, NONE, decode, diff, encode, spans_of, unmark
from kargo_tasks.workspace.merge import Source
from kargo_tasks.workspace.templates import marked, render

# canaries in the forms a config carries them: a quote and a backslash that
# JSON and YAML double quotes escape, and one that is a substring of the
# template's own text ("kargo" is in the URL around it)
OLD = {"PW": 'Old-CanaryA1"q\\z', "TOKEN": "OldCanaryB2", "USER": "kargo",
       "TAG": "1.2", "HOSTS": "h1 h2"}
NEW = {"PW": 'New-CanaryA9"q\\z', "TOKEN": "NewCanaryB8", "USER": "kargo",
       "TAG": "1.3", "HOSTS": "h1 h2"}
CORES = ("CanaryA1", "CanaryB2", "CanaryA9", "CanaryB8")

TPL = """\
# mapproxy, user ${USER}
${TOKEN}
url: postgresql://${USER}:${PW}@db:5432/kargo
token: "${TOKEN}"
fallback: ${MISSING:-${TOKEN}}
image: app:${TAG}
level: 1
"""

J2 = """\
# mapproxy
{{ TOKEN }}
url: postgresql://kargo:{{ PW | urlencode }}@db/kargo
json: {{ PW | tojson }}
yaml: "{{ PW | replace('\\\\', '\\\\\\\\') | replace('"', '\\\\"') }}"
{% set t = TOKEN %}alias: {{ t }}
{% for h in HOSTS.split() %}host-{{ h }}
{% endfor %}{% if PW.startswith("Old") %}old{% else %}new{% endif %}
image: app:{{ TAG }}
"""


def env(values, public="TAG"):
    return Environment(dict(values, KARGO_PUBLIC=public), {})


@pytest.fixture
def source(tmp_path):
    def make(kind, text):
        path = tmp_path / f"conf.{kind}"
        path.write_text(text)
        return Source(path, kind, "workspace")
    return make


def version(source, values):
    """(text, label) of a rendered version, as kargo records it."""
    e = env(values)
    text = render(source, "conf", e)[0].decode()
    return text, encode(spans_of(text, marked(source, e, masking.public(e))))


def no_canary(lines):
    text = "\n".join(lines)
    for core in CORES:
        assert core not in text, text
        assert core not in json.dumps(text), text


@pytest.mark.parametrize("kind, text", [("subst", TPL), ("jinja", J2)])
def test_changed_lines_show_masked_and_no_value_shows(source, kind, text):
    src = source(kind, text)
    old, new = version(src, OLD), version(src, NEW)
    lines = diff(*old, *new)
    no_canary(lines)
    changed = [line for line in lines if line[:1] in "+-" and line[:3] not in ("---", "+++")]
    # every line that held a secret still shows, the secret masked
    assert f"-{MASK}" in changed and f"+{MASK}" in changed, lines  # a whole line
    assert "-image: app:1.2" in changed and "+image: app:1.3" in changed  # public
    if kind == "subst":
        assert '-token: "***"' in changed and '+token: "***"' in changed
        assert "-fallback: ***" in changed
        # USER is not public: its value is masked where it lands, but the
        # same letters written in the template show
        assert " # mapproxy, user ***" in lines
        assert "-url: postgresql://***:***@db:5432/kargo" in changed
    else:
        assert "-url: postgresql://kargo:***@db/kargo" in changed, lines
        assert "-json: ***" in changed and '-yaml: "***"' in changed
        assert "-alias: ***" in changed
        assert " host-***" in lines  # a loop variable counts as not public
        assert "-old" in changed and "+new" in changed  # the condition is the template's


def test_an_unchanged_line_masks_the_spans_of_either_side():
    # same text, one side knows a span there: the line shows masked
    lines = diff("a\nkey: v\nb\n", "2-5", "a\nkey: v\nc\n", NONE)
    assert lines == ["--- running", "+++ new", "@@ -1,3 +1,3 @@", " a", " key: v".replace(
        "key", "***"), "-b", "+c"]


def test_without_masks_it_is_difflibs_unified_diff():
    old = "a\nb\nc\nd\ne\nf\ng\nh\n"
    new = "a\nB\nc\nd\ne\nf\nG\nh\ni\n"
    for a, b in ((old, new), (new, old), ("", new), (old, "")):
        assert diff(a, NONE, b, NONE) == list(difflib.unified_diff(
            a.splitlines(), b.splitlines(), "running", "new", n=2, lineterm=""))


def test_a_side_without_a_label_is_masked_whole():
    # a config version the engine holds without kargo's label (made by an
    # older kargo, or by someone else): every line of it is hidden
    lines = diff("pw = OldCanaryB2\nname = app\n", None, "pw = x\nname = app\n", NONE)
    no_canary(lines)
    assert lines[3:] == ["-***", "+pw = x", " name = app"]
    assert diff("pw = OldCanaryB2\n", "garbage", "pw = x\n", NONE)[3] == "-***"


def test_a_value_over_several_lines_is_masked_on_each():
    text = "key: |\n  line1\n  line2\nend\n"
    start = text.index("line1")
    lines = diff("", NONE, text, encode([(start, text.index("line2") + 5)]))
    assert lines[3:] == ["+key: |", "+  ***", "+***", "+end"]


def test_labels_read_back_and_bad_ones_mean_all():
    assert decode(encode([(5, 9), (0, 2), (8, 12)])) == [(0, 2), (5, 12)]
    assert encode([]) == NONE and decode(NONE) == []
    assert encode(ALL) == ALL
    for bad in (None, "", "all", "1-", "x-2", "5-3", "1-2-3"):
        assert decode(bad) == ALL, bad


def test_markers_that_do_not_pair_up_are_not_trusted():
    o, c = masking.OPEN, masking.CLOSE
    assert unmark(f"a{o}b{c}c{o}{o}d{c}{c}") == ("abcd", [(1, 2), (3, 4)])
    assert unmark(f"a{c}b")[1] is None and unmark(f"a{o}b")[1] is None
    assert spans_of("ab", f"a{o}b{c}") == [(1, 2)]
    assert spans_of("aX", f"a{o}b{c}") == ALL       # not the same rendering
    assert spans_of(f"a{o}", f"a{o}{o}{c}") == ALL  # a marker in the text itself


def test_a_template_the_markers_would_change_is_masked_whole(source):
    # a captured block compared afterwards: the marked rendering differs
    src = source("jinja", '{% set y %}{{ TOKEN }}{% endset %}{% if y == "OldCanaryB2" %}'
                          "yes{% endif %}\nline\n")
    assert version(src, OLD)[1] == ALL


def test_public_variables_show_and_patterns_name_them(source):
    src = source("subst", "image: ${APP_TAG} ${TOKEN}\n")
    e = env(OLD | {"APP_TAG": "7"}, public="*_TAG")
    text = render(src, "conf", e)[0].decode()
    label = encode(spans_of(text, marked(src, e, masking.public(e))))
    assert diff("", NONE, text, label)[3] == "+image: 7 ***"


def test_the_labeler(tmp_path, source):
    merged = tmp_path / "merged"
    tpl = source("subst", "pw: ${TOKEN}\n")
    e = env(OLD)
    for rel in ("configs/a.conf", "secrets/s.conf", "configs/c.conf"):
        (merged / rel).parent.mkdir(parents=True, exist_ok=True)
    (merged / "configs/a.conf").write_bytes(render(tpl, "configs/a.conf", e)[0])
    (merged / "secrets/s.conf").write_text("plain\n")
    (merged / "configs/c.conf").write_text("plain\n")
    plan = {"configs/a.conf": tpl, "secrets/s.conf": Source(merged, "copy", "workspace"),
            "configs/c.conf": Source(merged, "copy", "workspace")}
    label = templates.labeler(plan, merged, e)
    assert label(str(merged / "deploy/../configs/a.conf")) == "4-15"
    assert label(str(merged / "secrets/s.conf")) == ALL    # under secrets/: whole
    assert label(str(merged / "configs/c.conf")) == NONE   # a copy: shown
    assert label(str(tmp_path / "elsewhere.conf")) == ALL  # unknown: hidden
    (merged / "configs/a.conf").write_text("pw: edited by hand\n")
    assert label(str(merged / "configs/a.conf")) == ALL    # not what the template makes


@pytest.mark.parametrize("kind, text", [
    ("subst", "a: ${UNSET:?needs ${TOKEN} and ${TAG}}\n"),
    ("jinja", "a: {{ {}[TOKEN] }}\n"),
    ("jinja", "{% for k in [TOKEN] %}{{ {}[k] }}{% endfor %}\n"),
])
def test_an_error_message_does_not_quote_a_value(source, kind, text):
    from kargo_tasks.base.errors import ConfigError
    with pytest.raises(ConfigError) as info:
        render(source(kind, text), "conf", env(OLD, public="TAG"))
    message = str(info.value)
    assert "OldCanaryB2" not in message and MASK in message, message
    if kind == "subst":
        assert message.endswith("variable UNSET is required: needs *** and 1.2"), message
