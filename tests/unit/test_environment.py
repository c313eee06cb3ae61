"""`environment.load`: layers, interpolation, quoting, errors that hide values, digests."""
import os
import subprocess

import pytest

from kargo_tasks.base.errors import ConfigError
from kargo_tasks.workspace.environment import Environment, load, prefix
from support import write

CANARY = "s3cr3t-canary"


def env_file(tmp_path, text, name=".env"):
    """An env file written as is (no dedent: leading spaces may matter)."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load_text(tmp_path, text, shell=None):
    return load([env_file(tmp_path, text)], shell or {})


def value_of(tmp_path, line):
    """The value of V after loading a file whose only line is `line`."""
    return load_text(tmp_path, line + "\n").get("V")


def load_error(files, shell=None):
    with pytest.raises(ConfigError) as info:
        load(files, shell or {})
    return str(info.value)


@pytest.fixture
def layers(tmp_path):
    """(defaults file, workspace file) writer."""
    def make(defaults, workspace):
        return [write(tmp_path / "defaults/.env.default", defaults),
                write(tmp_path / "workspace/.env", workspace)]
    return make


# --- layering ---------------------------------------------------------------

def test_later_layers_win_and_origins_say_where(layers):
    files = layers("""
        ONLY_DEFAULT=d
        BOTH=d
        ALL=d
    """, """
        BOTH=w
        ALL=w
        ONLY_WORKSPACE=w
    """)
    env = load(files, {"ALL": "s", "ONLY_SHELL": "s"})
    assert env.as_dict() == {"ONLY_DEFAULT": "d", "BOTH": "w", "ALL": "s",
                             "ONLY_WORKSPACE": "w", "ONLY_SHELL": "s"}
    assert env.origins["ONLY_DEFAULT"] == f"{files[0]}:1"
    assert env.origins["BOTH"] == f"{files[1]}:1"
    assert env.origins["ONLY_WORKSPACE"] == f"{files[1]}:3"
    assert env.origins["ALL"] == "shell"
    assert env.origins["ONLY_SHELL"] == "shell"


def test_shell_values_are_literal(layers):
    files = layers("A=${B}\n", "")
    env = load(files, {"A": "${NOT_A_REFERENCE}", "B": "b", "C": "${B:?x}"})
    assert env.get("A") == "${NOT_A_REFERENCE}"
    assert env.get("C") == "${B:?x}"


def test_a_default_may_use_a_variable_only_the_workspace_sets(layers):
    files = layers('GREETING="hello ${WHO}"\n', "WHO=operators\n")
    env = load(files, {})
    assert env.get("GREETING") == "hello operators"
    assert env.origins["GREETING"] == f"{files[0]}:1"


def test_a_workspace_value_may_use_a_default(layers):
    files = layers("HOST=example.org\n", "URL=https://${HOST}/api\n")
    assert load(files, {}).get("URL") == "https://example.org/api"


def test_a_default_uses_the_overridden_value(layers):
    files = layers("WHO=world\nGREETING=hello ${WHO}\n", "WHO=workspace\n")
    assert load(files, {}).get("GREETING") == "hello workspace"
    assert load(files, {"WHO": "shell"}).get("GREETING") == "hello shell"


def test_the_shell_overrides_a_value_other_values_use(layers):
    files = layers("A=${B}\nB=from-file\n", "")
    assert load(files, {"B": "from-shell"}).get("A") == "from-shell"


def test_references_resolve_whatever_the_order_in_the_file(tmp_path):
    env = load_text(tmp_path, "A=${B}-a\nB=${C}-b\nC=c\n")
    assert env.as_dict() == {"A": "c-b-a", "B": "c-b", "C": "c"}


def test_defaults_and_required_forms_work_across_values(tmp_path):
    env = load_text(tmp_path, "A=${UNSET:-x}\nB=${EMPTY-y}\nEMPTY=\nC=${A:?need A}\n")
    assert env.as_dict() == {"A": "x", "B": "", "EMPTY": "", "C": "x"}


def test_no_env_files_only_the_shell(tmp_path):
    assert load([], {"X": "1"}).as_dict() == {"X": "1"}


# --- quoting and literal values --------------------------------------------

def test_single_quoted_values_are_literal(tmp_path):
    env = load_text(tmp_path, "B=b\nA='${B} and ${UNDEFINED}'\nC=\"${B}\"\nD=${B}\n")
    assert env.get("A") == "${B} and ${UNDEFINED}"
    assert env.get("C") == "b"
    assert env.get("D") == "b"


def test_single_quoted_after_export_and_spaces_is_literal(tmp_path):
    env = load_text(tmp_path, "export A='${X}'\nB=   '${X}'\n")
    assert env.as_dict() == {"A": "${X}", "B": "${X}"}


@pytest.mark.parametrize("line, expected", [
    # as in compose's .env: $$ is a $; a $ not before a name or { is kept;
    # single quotes keep everything
    ("V=pa$$word", "pa$word"),
    ('V="pa$$word"', "pa$word"),
    ('V="pa\\$word"', "pa$word"),
    ("V='pa$word'", "pa$word"),
    ("V='pa$$word'", "pa$$word"),
    ("V=$5 and $", "$5 and $"),
    ('V="ends with $"', "ends with $"),
    ("V=$$", "$"),
    # quotes inside values
    ('V="say \\"hi\\""', 'say "hi"'),
    ('V="it\'s"', "it's"),
    ("V='say \"hi\"'", 'say "hi"'),
    ("V='it\\'s'", "it's"),
    # # and =
    ('V="a # not a comment"', "a # not a comment"),
    ("V='a # not a comment'", "a # not a comment"),
    ("V=a#b", "a#b"),
    ("V=a # a comment", "a"),
    ('V="x" # a comment', "x"),
    ("V=a=b==c", "a=b==c"),
    ('V="k=v;k2=v2"', "k=v;k2=v2"),
    # spaces
    ('V="  padded  "', "  padded  "),
    ("V='  padded  '", "  padded  "),
    ("V=  unquoted  ", "unquoted"),
    ('V="two  spaces"', "two  spaces"),
    ('V=""', ""),
    ("V=''", ""),
    ("V=", ""),
    # unicode
    ("V=café", "café"),
    ('V="日本語"', "日本語"),
    ("V='🚀 émoji ✓'", "🚀 émoji ✓"),
    # backslashes: doubled in double quotes, as is before a plain character
    ('V="C:\\\\temp\\\\new"', "C:\\temp\\new"),
    ('V="a\\\\b\\\\"', "a\\b\\"),
    ("V='C:\\temp\\new'", "C:\\temp\\new"),
    ("V=C:\\temp", "C:\\temp"),
    ('V="line1\\nline2"', "line1\nline2"),
    # the mix an operator would paste as a password
    ("V='p@$$w0rd!#=\"x\" é'", 'p@$$w0rd!#="x" é'),
    ('V="p@$$$$w0rd!#=\\"x\\" é \'q\'"', 'p@$$w0rd!#="x" é \'q\''),
])
def test_special_characters_round_trip(tmp_path, line, expected):
    assert value_of(tmp_path, line) == expected


TRICKY = [
    "pa$word", "$", "$$", "$5$6", "ends$", "a$b$c", "{braces}", "}{", "$(cmd)", "`cmd`",
    '"', '""', 'say "hi"', "#", "# leading hash", "a#b", "a # b", "=", "==", "a=b", "k=v&x=y",
    " ", "  lead", "trail  ", " both ", "tab\there", "é", "日本", "🔑🚀", "naïve café",
    "!@%^&*()[]<>?/|~", "semi;colon", "comma,", "percent%20", "100%", "\u00a0nbsp",
    "x" * 500,
]


@pytest.mark.parametrize("value", TRICKY, ids=range(len(TRICKY)))
def test_any_value_without_quote_or_backslash_round_trips_single_quoted(tmp_path, value):
    assert "'" not in value and "\\" not in value
    path = env_file(tmp_path, f"BEFORE=1\nV='{value}'\nAFTER=2\n")
    env = load([path], {})
    assert env.as_dict() == {"BEFORE": "1", "V": value, "AFTER": "2"}
    assert env.origins["V"] == f"{path}:2"


@pytest.mark.parametrize("value", TRICKY, ids=str)
def test_any_value_round_trips_double_quoted_with_escapes(tmp_path, value):
    escaped = (value.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t")
               .replace("$", "\\$"))
    assert value_of(tmp_path, f'V="{escaped}"') == value


def test_many_values_in_one_file(tmp_path):
    lines = [f"V{i}='{v}'" for i, v in enumerate(TRICKY)]
    env = load_text(tmp_path, "\n".join(lines) + "\n")
    assert [env.get(f"V{i}") for i in range(len(TRICKY))] == TRICKY


def test_multiline_double_quoted_value(tmp_path):
    env = load_text(tmp_path, 'V="first\nsecond"\nW=after\n')
    assert env.get("V") == "first\nsecond"
    assert env.origins["W"].endswith(":3")


def test_crlf_line_endings(tmp_path):
    path = tmp_path / ".env"
    path.write_bytes(b"A=1\r\nB='two words'\r\n\r\nC=${A}\r\n")
    env = load([path], {})
    assert env.as_dict() == {"A": "1", "B": "two words", "C": "1"}
    assert env.origins["C"] == f"{path}:4"


# --- errors: file and line, never the value --------------------------------

def test_undefined_variable_names_file_and_line(tmp_path):
    path = env_file(tmp_path, "# settings\nA=1\n\nB=x${NOPE}\n")
    message = load_error([path])
    assert message.startswith(f"{path}:4: variable NOPE is not defined")


def test_undefined_variable_on_a_continuation_line(tmp_path):
    path = env_file(tmp_path, 'A=1\nB="one\ntwo ${NOPE}"\n')
    assert load_error([path]).startswith(f"{path}:3: variable NOPE")


def test_undefined_variable_in_the_workspace_names_the_workspace_file(layers):
    files = layers("A=1\n", "# mine\n\nB=${NOPE}\n")
    assert load_error(files).startswith(f"{files[1]}:3: variable NOPE is not defined")


def test_required_variable_error(tmp_path):
    path = env_file(tmp_path, "A=${PASSWORD:?set it in the workspace .env}\n")
    assert load_error([path]) == f"{path}:1: variable PASSWORD is required: set it in the workspace .env"


def test_circular_reference_names_the_cycle(tmp_path):
    path = env_file(tmp_path, "A=${B}\nB=${A}\n")
    message = load_error([path])
    assert "circular reference A -> B -> A" in message
    assert message.startswith(f"{path}:1: ")


def test_longer_cycle_through_defaults(tmp_path):
    path = env_file(tmp_path, "OK=1\nA=${B:-x}\nB=${C}\nC=${A}\n")
    assert "circular reference A -> B -> C -> A" in load_error([path])


def test_self_reference_sees_the_layer_below(tmp_path):
    # nothing below: A is unset there, an undefined variable as anywhere
    path = env_file(tmp_path, "X=1\nA=${A}\n")
    assert load_error([path]) == (f"{path}:2: variable A is not defined (give it a value, or "
                                  "write ${A:-default}; write $$ for a literal $)")


def test_a_variable_that_defaults_to_itself(tmp_path):
    # compose-go's substitutions-default.env: OPTION_A=${OPTION_A:-1}
    path = env_file(tmp_path, "OPTION_A=${OPTION_A:-1}\n")
    assert load([path], {}).get("OPTION_A") == "1"
    assert load([path], {"OPTION_A": "shell"}).get("OPTION_A") == "shell"


def test_a_self_reference_over_a_lower_layer(tmp_path):
    # as bash's `set -a; . .env.default; . .env`: the workspace sees the defaults' TAG
    lower, upper = tmp_path / "lower", tmp_path / "upper"
    lower.mkdir(), upper.mkdir()
    defaults = env_file(lower, "TAG=latest\nOTHER=${TAG}\n")
    workspace = env_file(upper, "TAG=${TAG:-x}-dev\n")
    env = load([defaults, workspace], {})
    assert env.get("TAG") == "latest-dev"
    assert env.get("OTHER") == "latest-dev"  # any other reference: the final value
    assert env.origins["TAG"] == f"{workspace}:1"
    assert load([workspace], {}).get("TAG") == "x-dev"
    assert load([defaults, workspace], {"TAG": "shell"}).get("TAG") == "shell"
    script = f'set -a; . {defaults}; . {workspace}; printf %s "$TAG"'
    bash = subprocess.run(["bash", "-c", script], capture_output=True, text=True,
                          env={"PATH": os.environ["PATH"]})
    assert bash.stdout == "latest-dev"


def test_a_cycle_through_another_variable_is_still_circular(tmp_path):
    path = env_file(tmp_path, "A=${B:-x}\nB=${A}\n")
    assert "circular reference A -> B -> A" in load_error([path])


def test_a_shell_value_breaks_the_cycle(tmp_path):
    path = env_file(tmp_path, "A=${B}\nB=${A}\n")
    assert load([path], {"B": "shell"}).as_dict() == {"A": "shell", "B": "shell"}


def test_unused_default_naming_a_cycle_member_is_fine(tmp_path):
    path = env_file(tmp_path, "A=a\nB=${A:-${B}}\n")
    assert load([path], {}).get("B") == "a"


@pytest.mark.parametrize("text, line", [
    (f"A=1\nPASSWORD {CANARY}\n", 2),
    (f"A=1\n\n\nPASSWORD {CANARY}\n", 4),
    (f"{CANARY} {CANARY}\n", 1),
    (f'A=1\nPASSWORD="{CANARY}\n', 2),           # unterminated double quote
    (f"A=1\n# note\nPASSWORD='{CANARY}\n", 3),   # unterminated single quote
    (f'PASSWORD="{CANARY}" {CANARY}\n', 1),      # text after the quotes
    (f"\n\nPASSWORD '{CANARY}'\n", 3),
])
def test_syntax_error_names_the_line_not_the_value(tmp_path, text, line):
    path = env_file(tmp_path, text)
    message = load_error([path])
    assert message.startswith(f"{path}:{line}: cannot parse this line")
    assert CANARY not in message


def test_syntax_error_shows_the_name(tmp_path):
    path = env_file(tmp_path, f'PASSWORD="{CANARY}" oops\n')
    assert load_error([path]) == \
        f"{path}:1: cannot parse this line: text after the closing quote of PASSWORD"


def test_byte_order_mark_is_skipped_as_compose_skips_it(tmp_path):
    path = tmp_path / ".env"
    path.write_bytes(f"\ufeffPASSWORD={CANARY}\nB=2\n".encode("utf-8"))
    assert load([path], {}).as_dict() == {"PASSWORD": CANARY, "B": "2"}


@pytest.mark.parametrize("text, line, first", [
    (f"PASSWORD={CANARY}\nPASSWORD={CANARY}2\n", 2, 1),
    (f"A=1\nPASSWORD={CANARY}\n\n# again\n\nPASSWORD='{CANARY}'\n", 6, 2),
    (f"PASSWORD={CANARY}\nexport PASSWORD={CANARY}\n", 2, 1),
])
def test_duplicate_key(tmp_path, text, line, first):
    path = env_file(tmp_path, text)
    message = load_error([path])
    assert message == f"{path}:{line}: PASSWORD is already set on line {first}"
    assert CANARY not in message


def test_same_key_in_two_layers_is_not_a_duplicate(layers):
    files = layers("A=1\n", "A=2\n")
    assert load(files, {}).get("A") == "2"


@pytest.mark.parametrize("raw, line", [
    (b"A=1\nPASSWORD=s3cr3t-canary\xe9\n", 2),
    (b"\xff\xfeA=1\n", 1),
    (b"A=1\n\n\n# caf\xe9\n", 4),
])
def test_non_utf8_file(tmp_path, raw, line):
    path = tmp_path / ".env"
    path.write_bytes(raw)
    message = load_error([path])
    assert message.startswith(f"{path}:{line}: not UTF-8 text")
    assert CANARY not in message


def test_unreadable_file_is_a_config_error(tmp_path):
    missing = tmp_path / "nope.env"
    assert load_error([missing]).startswith(f"{missing}: cannot read")


def test_undefined_and_cycle_errors_do_not_show_values(tmp_path):
    for text in (f"PASSWORD={CANARY}\nA=${{PASSWORD}}${{NOPE}}\n",
                 f"PASSWORD={CANARY}${{B}}\nB=${{PASSWORD}}\n"):
        assert CANARY not in load_error([env_file(tmp_path, text)])


# --- Environment ------------------------------------------------------------

def test_environment_accessors():
    env = Environment({"STACKS": " web  db ", "EMPTY": "", "A": "1"}, {"A": "f:1"})
    assert env.get("A") == "1" and env.get("NOPE") is None and env.get("NOPE", "d") == "d"
    assert "A" in env and "EMPTY" in env and "NOPE" not in env
    assert set(env.names()) == {"STACKS", "EMPTY", "A"}
    assert env.words("STACKS") == ["web", "db"]
    assert env.words("EMPTY") == [] and env.words("NOPE") == []
    copy = env.as_dict()
    copy["A"] = "changed"
    assert env.get("A") == "1"


KEY = b"k" * 32


def digest(values, names, key=KEY):
    return Environment(values, {}).digests(names, key)


def test_digest_is_stable_and_ignores_name_order_and_repeats():
    values = {"A": "1", "B": "2"}
    assert digest(values, ["A", "B"]) == digest(dict(values), ["B", "A", "A"])
    assert digest(values, {"A", "B"}) == digest(values, ("A", "B"))


def test_digest_changes_when_a_read_value_changes():
    assert digest({"A": "1", "B": "2"}, ["A"]) != digest({"A": "changed", "B": "2"}, ["A"])


def test_digest_ignores_values_not_read():
    assert digest({"A": "1", "B": "2"}, ["A"]) == digest({"A": "1", "B": "other"}, ["A"])
    assert digest({"A": "1"}, ["A"]) == digest({"A": "1", "NEW": "x"}, ["A"])


def test_digest_tells_unset_from_empty():
    assert digest({}, ["A"]) != digest({"A": ""}, ["A"])
    assert digest({}, ["A"]) != digest({"A": "None"}, ["A"])


def test_digest_is_not_fooled_by_moving_text_between_values():
    assert digest({"A": "ab", "B": ""}, ["A", "B"]) != digest({"A": "a", "B": "b"}, ["A", "B"])


def test_digest_depends_on_the_key():
    values = {"A": "1"}
    assert digest(values, ["A"], b"one key") != digest(values, ["A"], b"another key")


def test_digest_does_not_contain_the_value():
    result = digest({"PASSWORD": CANARY}, ["PASSWORD"])
    assert list(result) == ["PASSWORD"]  # names are kept, values never
    assert CANARY not in result["PASSWORD"] and len(result["PASSWORD"]) == 32


def test_changed_names_the_variables_whose_value_changed():
    saved = digest({"A": "1", "B": "2", "C": "3"}, ["A", "B", "C"])
    env = Environment({"A": "1", "B": "two", "D": "4"}, {})
    assert env.changed(saved, KEY) == ["B", "C"]
    assert env.changed({}, KEY) == [] and env.changed(None, KEY) == []


@pytest.mark.parametrize("name, expected", [
    ("arome-france", "AROME_FRANCE"),
    ("web", "WEB"),
    ("gfs-world-loader", "GFS_WORLD_LOADER"),
    ("already_OK1", "ALREADY_OK1"),
    ("a.b c", "A_B_C"),
])
def test_prefix(name, expected):
    assert prefix(name) == expected
