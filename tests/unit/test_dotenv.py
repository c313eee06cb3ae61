"""`dotenv.parse`: `.env` files read as Docker Compose reads them.

COMPOSE_GO holds what compose-go's dotenv parser (Docker Compose v2) gives for
each text, recorded from that code, with the OS environment OS. The test reads
the same text with kargo's parser and resolves it the way compose does (the
OS environment first, then the lines above), so any difference is kargo's.
The differences kargo makes on purpose are tested after it.
"""
import pytest

from kargo_tasks.base.errors import ConfigError
from kargo_tasks.workspace import dotenv
from kargo_tasks.workspace.interpolate import substitute

OS = {"HOME": "/root", "FROMOS": "os-value", "EMPTY": ""}

COMPOSE_GO = [
    ('A=hello world\n', {'A': 'hello world'}),  # U1 plain
    ('A=hello   \n', {'A': 'hello'}),  # U2 trailing spaces
    ('A=   hello\n', {'A': 'hello'}),  # U3 leading spaces after =
    ('A = hello\n', {'A': 'hello'}),  # U4 spaces around =
    ('A=hello # c\n', {'A': 'hello'}),  # U5 inline comment ' #'
    ('A=hello#c\n', {'A': 'hello#c'}),  # U6 '#' without space
    ('A=hello\t#c\n', {'A': 'hello\t#c'}),  # U7 tab before #
    ('A=   # c\n', {'A': '# c'}),  # U8 value begins with # after spaces
    ('A=\n', {'A': ''}),  # U9 empty value
    ('B=x\nA=$B\n', {'A': 'x', 'B': 'x'}),  # U10 $VAR
    ('B=x\nA=${B}y\n', {'A': 'xy', 'B': 'x'}),  # U11 ${VAR}
    ('A=${NOPE:-dflt}\n', {'A': 'dflt'}),  # U12 ${VAR:-d} unset
    ('A=${EMPTY-dflt}|${EMPTY:-dflt}\n', {'A': '|dflt'}),  # U13 ${VAR-d} empty
    ('A=$$B\n', {'A': '$B'}),  # U14 $$
    ('A=a\\nb\n', {'A': 'a\\nb'}),  # U15 backslash-n literal
    ('A=a"b"c\n', {'A': 'a"b"c'}),  # U17 quotes inside
    ('FROMOS=file\nA=$FROMOS\n', {'A': 'os-value', 'FROMOS': 'file'}),  # U18 OS env wins in interpolation
    ('A: hello\n', {'A': 'hello'}),  # U21 yaml-style colon
    ('A=hello\r\nB=x\r\n', {'A': 'hello', 'B': 'x'}),  # U22 CRLF line
    ('A=$1 $- $\n', {'A': '$1 $- $'}),  # U23 $1 / $- literal
    ('A=${1}\n', 'ERROR'),  # U24 ${ invalid
    ('A=${B\n', 'ERROR'),  # U25 unterminated ${
    ('A=${NOPE:?must be set}\n', 'ERROR'),  # U26 ${VAR:?err}
    ('B=x\nA=${B:+alt}|${NOPE:+alt}\n', {'A': 'alt|', 'B': 'x'}),  # U27 ${VAR:+alt}
    ('A=${NOPE:-${HOME}/x}\n', {'A': '/root/x'}),  # U28 nested default
    ('b=x\nA=$b\n', {'A': 'x', 'b': 'x'}),  # U29 lowercase names
    ('A="hello world"\n', {'A': 'hello world'}),  # D1 plain
    ('A="  hi  "\n', {'A': '  hi  '}),  # D2 keeps spaces
    ('A="a\\nb\\tc"\n', {'A': 'a\nb\tc'}),  # D3 \n \t \r
    ('A="say \\"hi\\""\n', {'A': 'say "hi"'}),  # D4 \"
    ('A="a\\\\b"\n', {'A': 'a\\b'}),  # D5 \\
    ('A="\\$HOME"\n', {'A': '$HOME'}),  # D6 \$
    ('A="it\\\'s"\n', {'A': "it\\'s"}),  # D7 \'
    ('A="$HOME"\n', {'A': '/root'}),  # D8 $VAR
    ('A="${NOPE:-d e f}"\n', {'A': 'd e f'}),  # D9 ${VAR:-d}
    ('A="$$HOME"\n', {'A': '$HOME'}),  # D10 $$
    ('A="a # b" # real comment\n', {'A': 'a # b'}),  # D11 # inside
    ('A="line1\nline2"\nB=x\n', {'A': 'line1\nline2', 'B': 'x'}),  # D12 multi-line
    ('A="abc\nB=x\n', 'ERROR'),  # D13 unterminated
    ('A="\\x41\\u0041"\n', {'A': '\\x41\\u0041'}),  # D14 \x / \u unsupported
    ('A="\\0101"\n', {'A': 'A'}),  # D15 octal \0101
    ('A="\\a|\\c"\n', {'A': '\x07|\\c'}),  # D16 \a \c
    ('A="\'d\'"\n', {'A': "'d'"}),  # D18 single quote inside
    ('A="a\\ b"\n', {'A': 'a\\ b'}),  # D19 backslash-space
    ("A='hello world'\n", {'A': 'hello world'}),  # S1 plain
    ("A='$HOME ${HOME}'\n", {'A': '$HOME ${HOME}'}),  # S2 no interpolation
    ("A='a\\nb'\n", {'A': 'a\\nb'}),  # S3 no escapes
    ("A='it\\'s'\n", {'A': "it's"}),  # S4 \' escaped quote
    ("A='a\\\\b'\n", {'A': 'a\\\\b'}),  # S5 \\ kept
    ("A='$$'\n", {'A': '$$'}),  # S6 $$ kept
    ("A='l1\nl2'\n", {'A': 'l1\nl2'}),  # S7 multi-line
    ("A='a # b' # c\n", {'A': 'a # b'}),  # S8 # inside
    ('export A=1\n', {'A': '1'}),  # K1 export prefix
    ('export\tA=1\n', {'A': '1'}),  # K2 export + tab
    ('exportFOO=1\n', {'exportFOO': '1'}),  # K3 exportFOO
    ('FROMOS\n', {'FROMOS': 'os-value'}),  # K4 bare NAME set in OS
    ('NOTSET\nB=1\n', {'B': '1'}),  # K5 bare NAME unset
    ('a.b-c[0]=1\n', {'a.b-c[0]': '1'}),  # K7 key with dot/dash/brackets
    ('A B=1\n', 'ERROR'),  # K8 key with space
    ('1A=x\n', {'1A': 'x'}),  # K9 key starting digit
    ('A$=1\n', 'ERROR'),  # K10 invalid char
    ('  # c\n\tA=1\n', {'A': '1'}),  # K11 comment line + indent
    ('\ufeffA=1\n', {'A': '1'}),  # K14 BOM
    ('export\n', {}),  # K15 export alone?
]


def as_compose(text):
    """{name: value} as compose resolves the file: OS first, then earlier lines."""
    values = {}
    for entry in dotenv.parse(text, ".env"):
        if entry.quote == "'":
            values[entry.name] = entry.raw
            continue
        lookup = lambda name: OS[name] if name in OS else values.get(name)  # noqa: E731
        values[entry.name] = substitute(entry.raw, lookup, where=".env", lone="keep")
    return values


@pytest.mark.parametrize("text, expected", COMPOSE_GO)
def test_reads_as_compose_go_reads(text, expected):
    if expected == "ERROR":
        with pytest.raises(ConfigError):
            as_compose(text)
    else:
        # a bare NAME takes its value from below (compose: the OS environment)
        bare = {name: OS[name] for name in expected if name in OS and name not in as_compose(text)}
        assert {**as_compose(text), **bare} == expected


@pytest.mark.parametrize("text, message", [
    ("A=$UNDEF\n", "variable UNDEF is not defined"),         # compose: "" and a warning
    ("A=\\$B\n", "variable B is not defined"),
    ('A="x"junk\nB=y\n', "text after the closing quote of A"),  # compose: ignores junk
    ("A=1\nA=2\n", "A is already set on line 1"),              # compose: the last wins
    ('="v"\n', "no variable name before the ="),                # compose: a variable ""
])
def test_where_kargo_is_stricter(text, message):
    with pytest.raises(ConfigError) as info:
        as_compose(text)
    assert message in str(info.value)


def test_a_bare_name_sets_nothing_itself():
    assert [e.name for e in dotenv.parse("A=1\nFROMOS\nB=2\nLAST", ".env")] == ["A", "B"]


def test_lines_are_those_of_the_name():
    entries = dotenv.parse('\n# c\nA=1\nB="x\ny"\n\nexport C=3\n', ".env")
    assert [(e.name, e.line) for e in entries] == [("A", 3), ("B", 4), ("C", 7)]


@pytest.mark.parametrize("text, line", [
    ("A=1\n\nB C=1\n", 3), ("A=1\nB$=1\n", 2), ('A=1\nB="open\nC=2\n', 2),
    ("A=1\nB='open\n", 2),
])
def test_errors_name_the_line(text, line):
    with pytest.raises(ConfigError) as info:
        dotenv.parse(text, ".env")
    assert str(info.value).startswith(f".env:{line}: cannot parse this line")
