"""Test cases of the projects Docker is built from, transcribed as data with
their expectations unchanged: each row names its source file and test.

Sources (read at these commits):
  docker/cli       28f756087eea5fa301f3fbf12b01ae62f91521c2  (the CLI 28's loader)
  compose-go       e70e961c3a3acebf0800b882f1afb3dbf1fb74a2  (compose's .env and templates)
  go-yaml/yaml v3  f6f7691b1fdeb513f56608cd2c32c51f8194bf51  (the CLI's YAML)
  joho/godotenv    97a2850142438b3c357c1d3439e325181afdcc1d  (compose-go's dotenv is its fork)

A row kargo deliberately refuses carries `Refused(<README text saying so>)`
instead of upstream's value (its upstream value in `upstream`); every other
row must give upstream's answer. `Error(words)`: upstream refuses, its
message holding `words`. Where kargo follows another project on purpose
(compose files: docker/cli; `.env` files: compose-go), rows of the other are
applied to the reader that follows it.
"""
from dataclasses import dataclass, field

CLI = "docker/cli cli/compose"
COMPOSE_GO = "compose-spec/compose-go"
GO_YAML = "go-yaml/yaml@v3 decode_test.go"


@dataclass(frozen=True)
class Error:
    words: str = ""


@dataclass(frozen=True)
class Follows:
    """kargo reads it as another upstream does, on purpose: `readme` says
    which; `value` is that upstream's answer (its row cited in `other`)."""
    readme: str
    upstream: object
    value: object
    other: str


@dataclass(frozen=True)
class Refused:
    readme: str            # the README text that says kargo refuses it
    upstream: object = None


# README lines cited by refused rows (the test checks the README says them)
COMPOSE_UNDEFINED = "an undefined variable is an error naming file:line (the CLI: an empty string)"
ENV_UNDEFINED = "an undefined `$VAR` / `${VAR}` is an error naming the file:line"
ENV_NO_NAME = "a line with no name are errors"
NOT_A_NUMBER = "`.inf`, `-.Inf` and `.NaN` are refused, as the CLI refuses them"
NESTED = "kargo expands a nested `${B}` in a default"
COMPOSE_GO_DOTENV = "are read as Docker Compose (compose-go) reads a `.env`"
PORT_TWICE = "a port list that gives one port twice once the CLI drops host IPs"
SPLIT = "a reference the CLI splits elsewhere than at its operator is an error"
FORGOTTEN = "a failed required reference (`${A:?}` with A unset) is an error even where the CLI forgets it"


@dataclass(frozen=True)
class Template:
    source: str
    test: str
    text: str
    expect: object


# --- docker/cli template/template_test.go: compose files' interpolation ----
# mapping: FOO=first, BAR="" (defaultMapping)
CLI_MAPPING = {"FOO": "first", "BAR": ""}
_T = f"{CLI}/template/template_test.go"
CLI_TEMPLATES = [
    Template(_T, "TestEscaped", "$${foo}", "${foo}"),
    Template(_T, "TestSubstituteNoMatch", "foo", "foo"),
    *[Template(_T, "TestInvalid", t, Error("")) for t in
      ["${", "$}", "${}", "${ }", "${ foo}", "${foo }", "${foo!}"]],
    Template(_T, "TestNoValueNoDefault", "This ${missing} var",
             Refused(COMPOSE_UNDEFINED, "This  var")),
    Template(_T, "TestNoValueNoDefault", "This ${BAR} var", "This  var"),
    Template(_T, "TestValueNoDefault", "This $FOO var", "This first var"),
    Template(_T, "TestValueNoDefault", "This ${FOO} var", "This first var"),
    Template(_T, "TestNoValueWithDefault", "ok ${missing:-def}", "ok def"),
    Template(_T, "TestNoValueWithDefault", "ok ${missing-def}", "ok def"),
    Template(_T, "TestEmptyValueWithSoftDefault", "ok ${BAR:-def}", "ok def"),
    Template(_T, "TestValueWithSoftDefault", "ok ${FOO:-def}", "ok first"),
    Template(_T, "TestEmptyValueWithHardDefault", "ok ${BAR-def}", "ok "),
    Template(_T, "TestNonAlphanumericDefault", "ok ${BAR:-/non:-alphanumeric}",
             "ok /non:-alphanumeric"),
    Template(_T, "TestMandatoryVariableErrors", "not ok ${UNSET_VAR:?Mandatory Variable Unset}",
             Error("Mandatory Variable Unset")),
    Template(_T, "TestMandatoryVariableErrors", "not ok ${BAR:?Mandatory Variable Empty}",
             Error("Mandatory Variable Empty")),
    Template(_T, "TestMandatoryVariableErrors", "not ok ${UNSET_VAR:?}", Error("UNSET_VAR")),
    Template(_T, "TestMandatoryVariableErrors", "not ok ${UNSET_VAR?Mandatory Variable Unset}",
             Error("Mandatory Variable Unset")),
    Template(_T, "TestMandatoryVariableErrors", "not ok ${UNSET_VAR?}", Error("UNSET_VAR")),
    Template(_T, "TestDefaultsForMandatoryVariables", "ok ${FOO:?err}", "ok first"),
    Template(_T, "TestDefaultsForMandatoryVariables", "ok ${FOO?err}", "ok first"),
    Template(_T, "TestDefaultsForMandatoryVariables", "ok ${BAR?err}", "ok "),
    Template(_T, "TestSubstituteWithCustomFunc", "ok ${FOO}", "ok first"),
    Template(_T, "TestSubstituteWithCustomFunc", "ok ${BAR}", "ok "),
    Template(_T, "TestSubstituteWithCustomFunc", "ok ${NOTHERE}", Error("NOTHERE")),
]

# --- compose-go template/template_test.go: `.env` values and .tpl files ----
# mapping: FOO=first, BAR="", JSON={"json":2} (defaultMapping)
COMPOSE_GO_MAPPING = {"FOO": "first", "BAR": "", "JSON": '{"json":2}'}
_G = f"{COMPOSE_GO} template/template_test.go"
COMPOSE_GO_TEMPLATES = [
    Template(_G, "TestEscaped", "$${foo}", "${foo}"),
    Template(_G, "TestSubstituteNoMatch", "foo", "foo"),
    *[Template(_G, "TestUnescaped", t, t) for t in ["a $ string", "^REGEX$", "$}", "$"]],
    *[Template(_G, "TestInvalid", t, Error("")) for t in
      ["${", "${}", "${ }", "${ foo}", "${foo }", "${foo!}"]],
    Template(_G, "TestNonBraced", "$FOO-bar", "first-bar"),
    Template(_G, "TestNoValueNoDefault", "This ${missing} var",
             Refused(ENV_UNDEFINED, "This  var")),
    Template(_G, "TestNoValueNoDefault", "This ${BAR} var", "This  var"),
    Template(_G, "TestValueNoDefault", "This $FOO var", "This first var"),
    Template(_G, "TestValueNoDefault", "This ${FOO} var", "This first var"),
    Template(_G, "TestNoValueWithDefault", "ok ${missing:-def}", "ok def"),
    Template(_G, "TestNoValueWithDefault", "ok ${missing-def}", "ok def"),
    Template(_G, "TestLazyDefaultDoesNotWarn", "${A:+${A},}B", "B"),
    Template(_G, "TestLazyDefaultWarnsWhenUsed", "${A:-${B}}", Refused(ENV_UNDEFINED, "")),
    Template(_G, "TestEmptyValueWithSoftDefault", "ok ${BAR:-def}", "ok def"),
    Template(_G, "TestValueWithSoftDefault", "ok ${FOO:-def}", "ok first"),
    Template(_G, "TestEmptyValueWithHardDefault", "ok ${BAR-def}", "ok "),
    Template(_G, "TestPresentValueWithUnset", "ok ${UNSET_VAR:+presence_value}", "ok "),
    Template(_G, "TestPresentValueWithUnset2", "ok ${UNSET_VAR+presence_value}", "ok "),
    Template(_G, "TestPresentValueWithNonEmpty", "ok ${FOO:+presence_value}", "ok presence_value"),
    Template(_G, "TestPresentValueAndNonEmptyWithNonEmpty", "ok ${FOO+presence_value}",
             "ok presence_value"),
    Template(_G, "TestPresentValueWithSet", "ok ${BAR+presence_value}", "ok presence_value"),
    Template(_G, "TestPresentValueAndNotEmptyWithSet", "ok ${BAR:+presence_value}", "ok "),
    Template(_G, "TestNonAlphanumericDefault", "ok ${BAR:-/non:-alphanumeric}",
             "ok /non:-alphanumeric"),
    *[Template(_G, "TestInterpolationExternalInterference", t, e) for t, e in [
        ("-ok ${BAR:-defaultValue}", "-ok defaultValue"),
        ("+ok ${UNSET:-${BAR-defaultValue}}", "+ok "),
        ("-ok ${FOO:-defaultValue}", "-ok first"),
        (":-ok ${UNSET-defaultValue}", ":-ok defaultValue"),
        (":-ok ${BAR-defaultValue}", ":-ok "),
        (":?ok ${BAR-defaultValue}", ":?ok "),
        (":?ok ${BAR:-defaultValue}", ":?ok defaultValue"),
        (":+ok ${BAR:-defaultValue}", ":+ok defaultValue"),
        ("+ok ${BAR-defaultValue}", "+ok "),
        ("?ok ${BAR:-defaultValue}", "?ok defaultValue")]],
    *[Template(_G, "TestDefaultsWithNestedExpansion", t, e) for t, e in [
        ("ok ${UNSET_VAR-$FOO}", "ok first"),
        ("ok ${UNSET_VAR-${FOO}}", "ok first"),
        ("ok ${UNSET_VAR-${FOO} ${FOO}}", "ok first first"),
        ("ok ${BAR:-$FOO}", "ok first"),
        ("ok ${BAR:-${FOO}}", "ok first"),
        ("ok ${BAR:-${FOO} ${FOO}}", "ok first first"),
        ("ok ${BAR+$FOO}", "ok first"),
        ("ok ${BAR+$FOO ${FOO:+second}}", "ok first second")]],
    *[Template(_G, "TestMandatoryVariableErrors", t, Error(w)) for t, w in [
        ("not ok ${UNSET_VAR:?Mandatory Variable Unset}", "Mandatory Variable Unset"),
        ("not ok ${BAR:?Mandatory Variable Empty}", "Mandatory Variable Empty"),
        ("not ok ${UNSET_VAR:?}", "UNSET_VAR"),
        ("not ok ${UNSET_VAR?Mandatory Variable Unset}", "Mandatory Variable Unset"),
        ("not ok ${UNSET_VAR?}", "UNSET_VAR")]],
    *[Template(_G, "TestMandatoryVariableErrorsWithNestedExpansion", t,
               Error("Mandatory Variable first")) for t in
      ["not ok ${UNSET_VAR:?Mandatory Variable ${FOO}}",
       "not ok ${UNSET_VAR?Mandatory Variable ${FOO}}"]],
    Template(_G, "TestDefaultsForMandatoryVariables", "ok ${FOO:?err}", "ok first"),
    Template(_G, "TestDefaultsForMandatoryVariables", "ok ${FOO?err}", "ok first"),
    Template(_G, "TestDefaultsForMandatoryVariables", "ok ${BAR?err}", "ok "),
    Template(_G, "TestSubstituteWithReplacementFunc", "ok ${SUBDOMAIN:-redis}.${FOO:?}",
             "ok redis.first"),
    Template(_G, "TestPrecedence", "${UNSET_VAR?bar-baz}", Error("bar-baz")),
    Template(_G, "TestPrecedence", "${UNSET_VAR-myerror?msg}", "myerror?msg"),
    Template(_G, "TestPrecedence", "${FOO?bar-baz}", "first"),
    Template(_G, "TestPrecedence", "${BAR:-default_value_for_empty_var}",
             "default_value_for_empty_var"),
    Template(_G, "TestPrecedence", "${UNSET_VAR-default_value_for_unset_var}",
             "default_value_for_unset_var"),
]


@dataclass(frozen=True)
class DotEnv:
    source: str
    test: str
    text: str
    expect: object         # {name: value} (a subset), Error or Refused
    shell: dict = field(default_factory=dict)


_D = f"{COMPOSE_GO} dotenv/godotenv_test.go"
_P = f"{COMPOSE_GO} dotenv/fixtures/"
DOTENV = [
    DotEnv(_D, "TestSubstitutions (fixtures/substitutions.env)",
           "OPTION_A=1\nOPTION_B=${OPTION_A}\nOPTION_C=$OPTION_B\nOPTION_D=${OPTION_A}_${OPTION_B}\n",
           {"OPTION_A": "1", "OPTION_B": "1", "OPTION_C": "1", "OPTION_D": "1_1"}),
    DotEnv(_D, "TestSubstitutions (fixtures/substitutions.env) OPTION_E",
           "OPTION_E=${OPTION_NOT_DEFINED}\n", Refused(ENV_UNDEFINED, {"OPTION_E": ""})),
    DotEnv(_P + "substitutions-default.env", "(a variable defaulting to itself)",
           "OPTION_A=${OPTION_A:-1}\nOPTION_B=${OPTION_A}\nOPTION_C=$OPTION_B\n"
           "OPTION_D=${OPTION_A}_${OPTION_B}\n",
           {"OPTION_A": "1", "OPTION_B": "1", "OPTION_C": "1", "OPTION_D": "1_1"}),
    *[DotEnv(_D, f"TestExpanding: {name}", text, expect) for name, text, expect in [
        ("expands variables found in values", "FOO=test\nBAR=$FOO", {"FOO": "test", "BAR": "test"}),
        ("parses variables wrapped in brackets", "FOO=test\nBAR=${FOO}bar",
         {"FOO": "test", "BAR": "testbar"}),
        ("expands undefined variables to an empty string", "BAR=$FOO",
         Refused(ENV_UNDEFINED, {"BAR": ""})),
        ("expands variables in double quoted strings", 'FOO=test\nBAR="quote $FOO"',
         {"FOO": "test", "BAR": "quote test"}),
        ("does not expand variables in single quoted strings", "BAR='quote $FOO'",
         {"BAR": "quote $FOO"}),
        ("does not expand escaped variables 1", 'FOO="foo\\$BAR"', {"FOO": "foo$BAR"}),
        ("does not expand escaped variables 2", 'FOO="foo\\${BAR}"', {"FOO": "foo${BAR}"}),
        ("does not expand escaped variables 3", 'FOO=test\nBAR="foo\\${FOO} ${FOO}"',
         {"FOO": "test", "BAR": "foo${FOO} test"})]],
    DotEnv(_D, "TestVariableStringValueSeparator",
           'TEST_URLS="stratum+tcp://stratum.antpool.com:3333\nstratum+tcp://stratum.antpool.com:443"',
           {"TEST_URLS": "stratum+tcp://stratum.antpool.com:3333\n"
                         "stratum+tcp://stratum.antpool.com:443"}),
    *[DotEnv(_D, "TestParsing", text, {name: value}) for text, name, value in [
        ("FOO=bar", "FOO", "bar"), ("FOO =bar", "FOO", "bar"), ("FOO= bar", "FOO", "bar"),
        ('FOO="bar"', "FOO", "bar"), ("FOO='bar'", "FOO", "bar"),
        ('FOO="escaped\\"bar"', "FOO", 'escaped"bar'), ('FOO="\\"quoted\\""', "FOO", '"quoted"'),
        ("FOO=\"'d'\"", "FOO", "'d'"), ("OPTION_A: 1", "OPTION_A", "1"),
        ("OPTION_A: Foo=bar", "OPTION_A", "Foo=bar"), ("OPTION_A=1:B", "OPTION_A", "1:B"),
        ("export OPTION_A=2", "OPTION_A", "2"), ("export OPTION_B='\\n'", "OPTION_B", "\\n"),
        ("export exportFoo=2", "exportFoo", "2"), ("exportFOO=2", "exportFOO", "2"),
        ("export_FOO =2", "export_FOO", "2"), ("export.FOO= 2", "export.FOO", "2"),
        ("export\tOPTION_A=2", "OPTION_A", "2"), ("  export OPTION_A=2", "OPTION_A", "2"),
        ("\texport OPTION_A=2", "OPTION_A", "2"), ('export OPTION_A="export A"', "OPTION_A", "export A"),
        ('FOO="bar\\nbaz"', "FOO", "bar\nbaz"), ("FOO=a\\tb", "FOO", "a\\tb"),
        ('FOO="a\\tb"', "FOO", "a\tb"),
        ('KEY="Z\\aZ\\bZ\\fZ\\nZ\\rZ\\tZ\\vZ\\\\Z\\0123Z"', "KEY", "Z\aZ\bZ\fZ\nZ\rZ\tZ\vZ\\ZSZ"),
        ("FOO.BAR=foobar", "FOO.BAR", "foobar"), ("FOO=foobar=", "FOO", "foobar="),
        ("FOO=bar ", "FOO", "bar"), ("FOO=bar # this is foo", "FOO", "bar"),
        ("FOO=bar #this is foo", "FOO", "bar"), ("FOO=bar #", "FOO", "bar"),
        ("FOO=123#not-an-inline-comment", "FOO", "123#not-an-inline-comment"),
        ('FOO="bar#baz"', "FOO", "bar#baz"), ('FOO="bar#baz"#', "FOO", "bar#baz"),
        ('FOO="bar#baz" # comment', "FOO", "bar#baz"), ("FOO='bar#baz' # comment", "FOO", "bar#baz"),
        ('FOO="bar#baz#bang" # comment', "FOO", "bar#baz#bang"),
        ('FOO="ba#r"', "FOO", "ba#r"), ("FOO='ba#r'", "FOO", "ba#r"),
        ('FOO="bar\\n\\ b\\az"', "FOO", "bar\n\\ b\az"),
        ('FOO="bar\\\\\\n\\ b\\az"', "FOO", "bar\\\n\\ b\az"),
        ('FOO="bar\\\\r\\ b\\az"', "FOO", "bar\\r\\ b\az"),
        ('FOO="bar\\nbaz\\\\"', "FOO", "bar\nbaz\\"),
        (" KEY =value", "KEY", "value"), ("   KEY=value", "KEY", "value"),
        ("\tKEY=value", "KEY", "value"), ('KEY="\\0123"', "KEY", "S"),
        ('KEY="\\x07"', "KEY", "\\x07"), ('KEY="\\u12e4"', "KEY", "\\u12e4"),
        ('KEY="\\U00101234"', "KEY", "\\U00101234")]],
    DotEnv(_D, "TestParsing", '="value"', Refused(ENV_NO_NAME, {"": "value"})),
    DotEnv(_D, "TestParsing (badly formatted line)", "lol$wut", Error("")),
    *[DotEnv(_D, "TestUnterminatedQuotes", text, Error("")) for text in
      ['KEY="', 'KEY="value', 'KEY="value\\"', "KEY=\"value'", "KEY='", "KEY='value",
       "KEY='value\\'", "KEY='value\""]],
    DotEnv(_D, "TestInheritedEnvVariableSingleVar (fixtures/inherited-single-var.env)",
           "VARIABLE\n", {"VARIABLE": "value"}, {"VARIABLE": "value"}),
    DotEnv(_D, "TestUTF8BOM (fixtures/utf8-bom.env)", "\ufeffOPTION_A=1\nOPTION_B=2\n",
           {"OPTION_A": "1", "OPTION_B": "2"}),
]


_J = "joho/godotenv godotenv_test.go"
_GP = f"{COMPOSE_GO} dotenv/godotenv_test.go TestParsing"
JOHO = [
    DotEnv(_J, "TestLoadHyphenEnv (fixtures/hyphen.env)", "OPTION_A=abc\nOPTION-B=def\n",
           {"OPTION_A": "abc", "OPTION-B": "def"}),
    *[DotEnv(_J, "TestKeyNameCharsetRejectsDisallowed", text, Error("")) for text in
      ["FOO+BAR=baz", "FOO@BAR=baz", "FOO/BAR=baz"]],
    DotEnv(_J, "TestLinesToIgnore", "\n\r\n\t\t \n# Comment\n\t # comment\n# one\n# two\nFOO=bar",
           {"FOO": "bar"}),
    DotEnv(_J, "TestLinesToIgnore (non-ignored value)", "export OPTION_B='\\n'",
           {"OPTION_B": "\\n"}),
    DotEnv(_J, "TestComments (fixtures/comments.env)",
           "# Full line comment\nqux=thud # fred # other\nthud=fred#qux # other\n"
           "fred=qux#baz # other # more\nfoo=bar # baz\nbar=foo#baz\nbaz=\"foo\"#bar\n",
           {"qux": "thud", "thud": "fred#qux", "fred": "qux#baz", "foo": "bar", "bar": "foo#baz",
            "baz": "foo"}),
    *[DotEnv(_J, f"TestTrailingNewlines: {name}", text, {"KEY": value}) for name, text, value in [
        ("Simple value without trailing newline", "KEY=value", "value"),
        ("Value with internal whitespace without trailing newline", "KEY=value value",
         "value value"),
        ("Value with internal whitespace with trailing newline", "KEY=value value\n", "value value"),
        ("YAML style - value with internal whitespace without trailing newline", "KEY: value value",
         "value value"),
        ("YAML style - value with internal whitespace with trailing newline", "KEY: value value\n",
         "value value")]],
    *[DotEnv(_J, f"TestWhitespace: {name}", text, {"A": "a"}) for name, text in [
        ("Leading whitespace", " A=a\n"), ("Leading tab", "\tA=a\n"),
        ("Leading mixed whitespace", " \t \t\n\t \t A=a\n"),
        ("Leading whitespace before export", " \t\t export    A=a\n"),
        ("Trailing whitespace", "A=a \t \t\n"), ("Trailing whitespace with export", "export A=a\t \t \n"),
        ("No EOL", "A=a"), ("Trailing whitespace with no EOL", "A=a ")]],
    DotEnv(_J, "TestParserErrors: UnterminatedQuote", 'foo="bar', Error("no closing quote")),
    # joho drops the backslash of an escape it does not know; compose-go keeps it
    DotEnv(_J, "TestParsing", 'FOO="bar\\\\"', {"FOO": "bar\\"}),
    DotEnv(_J, "TestParsing", "KEY=value value", {"KEY": "value value"}),
    DotEnv(_J, "TestParsing", 'FOO="bar\\\\\\n\\ b\\az"',
           Follows(COMPOSE_GO_DOTENV, {"FOO": "bar\\\n baz"}, {"FOO": "bar\\\n\\ b\az"}, _GP)),
    DotEnv(_J, "TestParsing", 'FOO="bar\\\\r\\ b\\az"',
           Follows(COMPOSE_GO_DOTENV, {"FOO": "bar\\r baz"}, {"FOO": "bar\\r\\ b\az"}, _GP)),
    DotEnv(_J, "TestParsing", 'FOO="bar\\n\\ b\\az"',
           Follows(COMPOSE_GO_DOTENV, {"FOO": "bar\n baz"}, {"FOO": "bar\n\\ b\az"}, _GP)),
]


@dataclass(frozen=True)
class Yaml:
    source: str
    test: str
    text: str
    expect: object


_Y = f"{GO_YAML} unmarshalTests"
INF = float("inf")
GO_YAML_DECODE = [Yaml(_Y, "unmarshalTests", text, expect) for text, expect in [
    ("v: hi", {"v": "hi"}), ("v: true", {"v": True}), ("v: 10", {"v": 10}),
    ("v: 0b10", {"v": 2}), ("v: 0xA", {"v": 10}), ("v: 4294967296", {"v": 4294967296}),
    ("v: 0.1", {"v": 0.1}), ("v: .1", {"v": 0.1}), ("v: -10", {"v": -10}),
    ("v: -.1", {"v": -0.1}),
    ("canonical: 6.8523e+5", {"canonical": 6.8523e+5}),
    ("expo: 685.230_15e+03", {"expo": 685.23015e+03}), ("fixed: 685_230.15", {"fixed": 685230.15}),
    ("canonical: true", {"canonical": True}), ("canonical: false", {"canonical": False}),
    ("bool: True", {"bool": True}), ("bool: False", {"bool": False}),
    ("bool: TRUE", {"bool": True}), ("bool: FALSE", {"bool": False}),
    ("canonical: 685230", {"canonical": 685230}), ("decimal: +685_230", {"decimal": 685230}),
    ("octal: 02472256", {"octal": 685230}), ("octal: -02472256", {"octal": -685230}),
    ("octal: 0o2472256", {"octal": 685230}), ("octal: -0o2472256", {"octal": -685230}),
    ("hexa: 0x_0A_74_AE", {"hexa": 685230}), ("bin: 0b1010_0111_0100_1010_1110", {"bin": 685230}),
    ("bin: -0b101010", {"bin": -42}),
    ("bin: -0b1000000000000000000000000000000000000000000000000000000000000000",
     {"bin": -9223372036854775808}),
    ("empty:", {"empty": None}), ("canonical: ~", {"canonical": None}),
    ("english: null", {"english": None}), ("foo: null", {"foo": None}), ("foo: ~", {"foo": None}),
    ("seq: [A,B]", {"seq": ["A", "B"]}), ("seq: [A,1,C]", {"seq": ["A", 1, "C"]}),
    ("seq:\n - A\n - B", {"seq": ["A", "B"]}), ("seq:\n - A\n - 1\n - C", {"seq": ["A", 1, "C"]}),
    ("v: !!float '1.1'", {"v": 1.1}), ("v: !!float 0", {"v": 0.0}), ("v: !!float -1", {"v": -1.0}),
    ("v: !!null ''", {"v": None}), ("%TAG !y! tag:yaml.org,2002:\n---\nv: !y!int '1'", {"v": 1}),
    ("a: -b_c", {"a": "-b_c"}), ("a: +b_c", {"a": "+b_c"}),
    ("a: 50cent_of_dollar", {"a": "50cent_of_dollar"}),
    ("a: {b: https://github.com/go-yaml/yaml}", {"a": {"b": "https://github.com/go-yaml/yaml"}}),
    ("a: [https://github.com/go-yaml/yaml]", {"a": ["https://github.com/go-yaml/yaml"]}),
    ("a: b\r\nc:\r\n- d\r\n- e\r\n", {"a": "b", "c": ["d", "e"]}),
    ("First occurrence: &anchor Foo\nSecond occurrence: *anchor\nOverride anchor: &anchor Bar\n"
     "Reuse anchor: *anchor\n", {"First occurrence": "Foo", "Second occurrence": "Foo",
                                 "Override anchor": "Bar", "Reuse anchor": "Bar"}),
    ("v: .Inf", Refused(NOT_A_NUMBER, {"v": INF})), ("v: -.Inf", Refused(NOT_A_NUMBER, {"v": -INF})),
    ("neginf: -.inf", Refused(NOT_A_NUMBER, {"neginf": -INF})),
]] + [
    Yaml(f"{GO_YAML} TestUnmarshalErrors", "anchor contains itself", "a: &a [00,00,00,00,00,00,*a]",
         Error("contains itself")),
    Yaml(f"{GO_YAML} TestUnmarshalErrors", "excessive aliasing (billion laughs)",
         "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
         + "".join(f"{c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n"
                   for p, c in zip("abcdefgh", "bcdefghi")),
         Error("excessive aliasing")),
    Yaml(f"{GO_YAML} TestUnmarshalErrors", "cannot decode !!str as a !!float", "v: !!float 'error'",
         Error("cannot decode")),
    Yaml(f"{GO_YAML} TestUnmarshalErrors", "duplicate key", "a: 1\na: 2\n", Error("already defined")),
]


@dataclass(frozen=True)
class Loader:
    source: str
    test: str
    text: str
    shell: dict
    expect: object         # "accepted" or Error(words) or Refused
    values: dict = field(default_factory=dict)  # {dotted path: value} in `docker stack config`
    files: tuple = ()      # files of upstream's working folder the case reads


_L = f"{CLI}/loader/loader_test.go"
_I = f"{CLI}/interpolation/interpolation_test.go"
LOADER = [
    Loader(_I, "TestInterpolate",
           "services:\n  servicea:\n    image: example:${USER}\n    volumes: [\"$FOO:/target\"]\n"
           "    logging:\n      driver: ${FOO}\n      options:\n        user: $USER\n",
           {"USER": "jenny", "FOO": "bar", "count": "5"}, "accepted",
           {"services.servicea.image": "example:jenny", "services.servicea.logging.driver": "bar",
            "services.servicea.logging.options.user": "jenny"}),
    Loader(_I, "TestInvalidInterpolation", "services:\n  servicea:\n    image: \"${\"\n", {},
           Error("")),
    Loader(_I, "TestInterpolateWithDefaults",
           "services:\n  x:\n    image: a\n    networks: [foo]\nnetworks:\n  foo:\n"
           "    name: thing_${FOO}\n", {"FOO": "BARZ"}, "accepted",
           {"networks.foo.name": "thing_BARZ"}),
    Loader(_I, "TestInterpolateWithCast",
           "services:\n  foo:\n    image: a\n    deploy:\n      replicas: $count\n",
           {"count": "5"}, "accepted", {"services.foo.deploy.replicas": 5}),
    Loader(_L, "TestInvalidTopLevelObjectType", "1", {}, Error("")),
    Loader(_L, "TestInvalidTopLevelObjectType", '"hello"', {}, Error("")),
    Loader(_L, "TestInvalidTopLevelObjectType", '["hello"]', {}, Error("")),
    Loader(_L, "TestSupportedVersion", 'version: "3"\nservices:\n  foo:\n    image: busybox\n', {},
           "accepted"),
    Loader(_L, "TestSupportedVersion", 'version: "3.0"\nservices:\n  foo:\n    image: busybox\n',
           {}, "accepted"),
    Loader(_L, "TestUnsupportedVersion", 'version: "2"\nservices:\n  foo:\n    image: busybox\n',
           {}, Error("version")),
    Loader(_L, "TestUnsupportedVersion", 'version: "2.0"\nservices:\n  foo:\n    image: busybox\n',
           {}, Error("version")),
    Loader(_L, "TestInvalidVersion", "version: 3\nservices:\n  foo:\n    image: busybox\n", {},
           Error("version must be a string")),
    Loader(_L, "TestV1Unsupported", "foo:\n  image: busybox\n", {}, Error("foo")),
    Loader(_L, "TestV1Unsupported", 'version: "1.0"\nfoo:\n  image: busybox\n', {}, Error("")),
    Loader(_L, "TestNonMappingObject", 'version: "3"\nservices:\n  - foo:\n      image: busybox\n',
           {}, Error("services")),
    Loader(_L, "TestNonMappingObject", 'version: "3"\nservices:\n  foo: busybox\n', {},
           Error("foo")),
    Loader(_L, "TestNonMappingObject", 'version: "3"\nnetworks:\n  - default:\n      driver: bridge\n',
           {}, Error("networks")),
    Loader(_L, "TestNonMappingObject", 'version: "3"\nnetworks:\n  default: bridge\n', {},
           Error("default")),
    Loader(_L, "TestNonMappingObject", 'version: "3"\nvolumes:\n  - data:\n      driver: local\n',
           {}, Error("volumes")),
    Loader(_L, "TestNonMappingObject", 'version: "3"\nvolumes:\n  data: local\n', {},
           Error("data")),
    Loader(_L, "TestNonStringImage",
           'version: "3"\nservices:\n  foo:\n    image: ["busybox", "latest"]\n', {}, Error("image")),
    Loader(_L, "TestIgnoreBuildProperties",
           "services:\n  foo:\n    image: busybox\n    build:\n      unsupported_prop: foo\n", {},
           "accepted"),
    Loader(_L, "TestLoadWithEnvironment",
           'version: "3"\nservices:\n  dict-env:\n    image: busybox\n    environment:\n'
           '      FOO: "1"\n      BAR: 2\n      BAZ: 2.5\n      QUX:\n      QUUX:\n'
           "  list-env:\n    image: busybox\n    environment:\n      - FOO=1\n      - BAR=2\n"
           "      - BAZ=2.5\n      - QUX=\n      - QUUX\n", {"QUX": "qux"}, "accepted",
           {f"services.{s}.environment.{k}": v for s in ("dict-env", "list-env")
            for k, v in {"FOO": "1", "BAR": "2", "BAZ": "2.5", "QUX": "qux", "QUUX": None}.items()}),
    Loader(_L, "TestInvalidEnvironmentValue",
           'version: "3"\nservices:\n  dict-env:\n    image: busybox\n    environment:\n'
           '      FOO: ["1"]\n', {}, Error("FOO")),
    Loader(_L, "TestInvalidEnvironmentObject",
           'version: "3"\nservices:\n  dict-env:\n    image: busybox\n    environment: "FOO=1"\n',
           {}, Error("environment")),
    Loader(_L, "TestLoadWithEnvironmentInterpolation",
           'version: "3"\nservices:\n  test:\n    image: busybox\n    labels:\n'
           "      - home1=$HOME\n      - home2=${HOME}\n      - default=${NONEXISTENT-default}\n"
           "networks:\n  test:\n    driver: $HOME\nvolumes:\n  test:\n    driver: $HOME\n",
           {"HOME": "/home/foo", "FOO": "foo"}, "accepted",
           {"services.test.labels.home1": "/home/foo", "services.test.labels.home2": "/home/foo",
            "services.test.labels.default": "default", "networks.test.driver": "/home/foo",
            "volumes.test.driver": "/home/foo"}),
    Loader(_L, "TestLoadWithEnvironmentInterpolation (nonexistent=$NONEXISTENT)",
           'version: "3"\nservices:\n  test:\n    image: busybox\n    labels:\n'
           "      - nonexistent=$NONEXISTENT\n", {}, Refused(COMPOSE_UNDEFINED, "accepted")),
    Loader(_L, "TestLoadWithInterpolationCastFull",
           'version: "3.8"\nservices:\n  web:\n    image: a\n    configs:\n      - source: appconfig\n'
           "        mode: $theint\n    secrets:\n      - source: super\n        mode: $theint\n"
           "    healthcheck:\n      retries: ${theint}\n      disable: $thebool\n    deploy:\n"
           "      replicas: $theint\n      update_config:\n        parallelism: $theint\n"
           "        max_failure_ratio: $thefloat\n      rollback_config:\n        parallelism: $theint\n"
           "        max_failure_ratio: $thefloat\n      restart_policy:\n        max_attempts: $theint\n"
           "      placement:\n        max_replicas_per_node: $theint\n    ports:\n"
           "      - $theint\n      - \"34567\"\n      - target: $theint\n        published: $theint\n"
           "    ulimits:\n      nproc: $theint\n      nofile:\n        hard: $theint\n"
           "        soft: $theint\n    privileged: $thebool\n    read_only: $thebool\n"
           "    stdin_open: ${thebool}\n    tty: $thebool\n    volumes:\n"
           "      - source: data\n        type: volume\n        read_only: $thebool\n"
           "        volume:\n          nocopy: $thebool\nconfigs:\n  appconfig:\n"
           "    external: $thebool\nsecrets:\n  super:\n    external: $thebool\nvolumes:\n"
           "  data:\n    external: $thebool\nnetworks:\n  front:\n    external: $thebool\n"
           "    internal: $thebool\n    attachable: $thebool\n",
           {"theint": "555", "thefloat": "3.14", "thebool": "true"}, "accepted",
           {"services.web.deploy.replicas": 555, "services.web.healthcheck.retries": 555,
            "services.web.deploy.update_config.max_failure_ratio": 3.14,
            "services.web.read_only": True, "networks.front.attachable": True}),
    Loader(_L, "TestUnsupportedProperties",
           'version: "3"\nservices:\n  web:\n    image: web\n    build:\n     context: ./web\n'
           "    links:\n      - db\n    pid: host\n  db:\n    image: db\n    build:\n"
           "     context: ./db\n", {}, "accepted"),
    Loader(_L, "TestDeprecatedProperties",
           'version: "3"\nservices:\n  web:\n    image: web\n    container_name: web\n  db:\n'
           "    image: db\n    container_name: db\n    expose: [\"5434\"]\n", {}, "accepted"),
    Loader(_L, "TestForbiddenProperties",
           'version: "3"\nservices:\n  foo:\n    image: busybox\n    volumes:\n      - /data\n'
           "    volume_driver: some-driver\n  bar:\n    extends:\n      service: foo\n", {},
           Error("")),
    Loader(_L, "TestInvalidResource",
           'version: "3"\nservices:\n  foo:\n    image: busybox\n    deploy:\n      resources:\n'
           "        impossible:\n          x: 1\n", {}, Error("impossible")),
    Loader(_L, "TestInvalidExternalAndDriverCombination",
           'version: "3"\nvolumes:\n  external_volume:\n    external: true\n    driver: foobar\n',
           {}, Error("")),
    Loader(_L, "TestInvalidExternalAndDirverOptsCombination",
           'version: "3"\nvolumes:\n  external_volume:\n    external: true\n    driver_opts:\n'
           "      beep: boop\n", {}, Error("")),
    Loader(_L, "TestInvalidExternalAndLabelsCombination",
           'version: "3"\nvolumes:\n  external_volume:\n    external: true\n    labels:\n'
           "      - beep=boop\n", {}, Error("")),
    Loader(_L, "TestLoadVolumeInvalidExternalNameAndNameCombination",
           'version: "3.4"\nvolumes:\n  foo:\n    name: user_specified_name\n    external:\n'
           "      name:        external_name\n", {}, Error("")),
    Loader(_L, "TestLoadTmpfsVolume",
           'version: "3.6"\nservices:\n  tmpfs:\n    image: nginx:latest\n    volumes:\n'
           "      - type: tmpfs\n        target: /app\n        tmpfs:\n          size: 10000\n", {},
           "accepted"),
    Loader(_L, "TestLoadTmpfsVolumeAdditionalPropertyNotAllowed",
           'version: "3.5"\nservices:\n  tmpfs:\n    image: nginx:latest\n    volumes:\n'
           "      - type: tmpfs\n        target: /app\n        tmpfs:\n          size: 10000\n", {},
           Error("tmpfs")),
    Loader(_L, "TestLoadBindMountSourceMustNotBeEmpty",
           'version: "3.5"\nservices:\n  tmpfs:\n    image: nginx:latest\n    volumes:\n'
           "      - type: bind\n        target: /app\n", {}, Error("")),
    Loader(_L, "TestLoadBindMountWithSource",
           'version: "3.5"\nservices:\n  bind:\n    image: nginx:latest\n    volumes:\n'
           "      - type: bind\n        target: /app\n        source: \".\"\n", {}, "accepted"),
    Loader(_L, "TestLoadTmpfsVolumeSizeCanBeZero",
           'version: "3.6"\nservices:\n  tmpfs:\n    image: nginx:latest\n    volumes:\n'
           "      - type: tmpfs\n        target: /app\n        tmpfs:\n          size: 0\n", {},
           "accepted"),
    Loader(_L, "TestLoadTmpfsVolumeSizeMustBeGTEQZero",
           'version: "3.6"\nservices:\n  tmpfs:\n    image: nginx:latest\n    volumes:\n'
           "      - type: tmpfs\n        target: /app\n        tmpfs:\n          size: -1\n", {},
           Error("")),
    Loader(_L, "TestLoadTmpfsVolumeSizeMustBeInteger",
           'version: "3.6"\nservices:\n  tmpfs:\n    image: nginx:latest\n    volumes:\n'
           "      - type: tmpfs\n        target: /app\n        tmpfs:\n          size: 0.0001\n", {},
           Error("")),
    Loader(_L, "TestLoadAttachableNetwork",
           'version: "3.2"\nnetworks:\n  mynet1:\n    driver: overlay\n    attachable: true\n'
           "  mynet2:\n    driver: bridge\n", {}, "accepted",
           {"networks.mynet1.attachable": True}),
    Loader(_L, "TestLoadExpandedPortFormat",
           'version: "3.2"\nservices:\n  web:\n    image: busybox\n    ports:\n      - "80-82:8080-8082"\n'
           '      - "90-92:80"\n      - "8080:80"\n      - "8090-8091:8080"\n      - "80"\n'
           '      - "8080:80/udp"\n      - "9090-9091:8080-8081"\n      - "1.1.1.1:8080:80"\n'
           '      - "127.0.0.1:9001-9002:9003-9004"\n      - target: 22\n        published: 10022\n',
           {}, Refused(PORT_TWICE, "accepted")),
    Loader(_L, "TestLoadExpandedMountFormat",
           'version: "3.2"\nservices:\n  web:\n    image: busybox\n    volumes:\n'
           "      - type: volume\n        source: foo\n        target: /target\n"
           "        read_only: true\nvolumes:\n  foo: {}\n", {}, "accepted"),
    Loader(_L, "TestLoadExtraHostsMap",
           'version: "3.2"\nservices:\n  web:\n    image: busybox\n    extra_hosts:\n'
           '      "zulu": "162.242.195.82"\n      "alpha": "50.31.209.229"\n'
           '      "host.docker.internal": "host-gateway"\n', {}, "accepted"),
    Loader(_L, "TestLoadExtraHostsList",
           'version: "3.2"\nservices:\n  web:\n    image: busybox\n    extra_hosts:\n'
           '      - "zulu:162.242.195.82"\n      - "alpha:50.31.209.229"\n'
           '      - "zulu:ff02::1"\n      - "host.docker.internal=host-gateway"\n', {}, "accepted"),
    Loader(_L, "TestLoadV35",
           'version: "3.5"\nservices:\n  foo:\n    image: busybox\n    isolation: process\n'
           "configs:\n  foo:\n    name: fooqux\n    external: true\n  bar:\n    name: barqux\n"
           "    file: ./loader_test.go\nsecrets:\n  foo:\n    name: fooqux\n    external: true\n"
           "  bar:\n    name: barqux\n    file: ./loader_test.go\n", {}, "accepted",
           {"services.foo.isolation": "process"}, ("loader_test.go",)),
    Loader(_L, "TestLoadV35InvalidIsolation",
           'version: "3.5"\nservices:\n  foo:\n    image: busybox\n    isolation: invalid\n'
           "configs:\n  super:\n    external: true\n", {}, "accepted"),
    Loader(_L, "TestLoadSecretInvalidExternalNameAndNameCombination",
           'version: "3.5"\nsecrets:\n  external_secret:\n    name: user_specified_name\n'
           "    external:\n      name:        external_name\n", {}, Error("")),
    Loader(_L, "TestLoadNetworkWithName",
           'version: "3.5"\nservices:\n  hello-world:\n    image: redis:alpine\n    networks:\n'
           "     - network1\n     - network3\nnetworks:\n  network1:\n    name: network1\n"
           "  network2:\n    name: network2\n  network3:\n    name: network3\n", {}, "accepted"),
    Loader(_L, "TestLoadInit",
           'version: "3.7"\nservices:\n  foo:\n    image: alpine\n    init: true\n', {}, "accepted"),
    Loader(_L, "TestLoadInit (init: false)",
           'version: "3.7"\nservices:\n  foo:\n    image: alpine\n    init: false\n', {},
           "accepted"),
    Loader(_L, "TestLoadSysctls",
           'version: "3.8"\nservices:\n  web:\n    image: busybox\n    sysctls:\n'
           "      - net.core.somaxconn=1024\n      - net.ipv4.tcp_syncookies=0\n"
           "      - testing.one.one=\n      - testing.one.two\n", {}, "accepted"),
    Loader(_L, "TestLoadSysctls (map)",
           'version: "3.8"\nservices:\n  web:\n    image: busybox\n    sysctls:\n'
           "      net.core.somaxconn: 1024\n      net.ipv4.tcp_syncookies: 0\n"
           "      testing.one.one: \"\"\n      testing.one.two:\n", {}, "accepted"),
    Loader(_L, "TestLoadTemplateDriver",
           'version: "3.8"\nservices:\n  hello-world:\n    image: redis:alpine\n    secrets:\n'
           "      - secret\n    configs:\n      - config\nconfigs:\n  config:\n"
           "    name: config\n    external: true\n    template_driver: config-driver\n"
           "secrets:\n  secret:\n    name: secret\n    external: true\n"
           "    template_driver: secret-driver\n", {}, "accepted"),
    Loader(_L, "TestLoadSecretDriver",
           'version: "3.8"\nservices:\n  hello-world:\n    image: redis:alpine\n    secrets:\n'
           "      - secret\n    configs:\n      - config\nconfigs:\n  config:\n"
           "    name: config\n    external: true\nsecrets:\n  secret:\n    name: secret\n"
           "    driver: secret-bucket\n    driver_opts:\n      OptionA: value for driver option A\n"
           "      OptionB: value for driver option B\n", {}, "accepted"),
]


# --- found by test_fuzz_docker.py, kept as fixed rows (the CLI's answer) ---
_F = "found by tests/compose/test_fuzz_docker.py"
FOUND = [
    Loader(_F, "a plain `=` value (the CLI's output read as go-yaml writes it)",
           "services:\n  x:\n    image: a\n    labels:\n      l1: '${A}'\n", {"A": "="},
           "accepted", {"services.x.labels.l1": "="}),
    Loader(_F, "a `?` message holding a `-`",
           "services:\n  x:\n    image: a\n    labels:\n      l1: '${A:?-}'\n", {},
           Refused(SPLIT, "accepted")),
    Loader(_F, "a failed `${A:?}` before another reference",
           "services:\n  x:\n    image: a\n    command: \"${A:?}${A}\"\n", {},
           Refused(FORGOTTEN, "accepted")),
    Loader(_F, "an extra host whose address holds a `=`",
           "x-p: &p {target: 83, published: \"${N}\"}\nservices:\n  x:\n    image: \"busybox\"\n"
           "    ports: [*p]\n    extra_hosts:\n      zulu: 162.242.195.82\n      alpha: \"${A:-::1}\"\n",
           {"A": "=", "N": "1"}, "accepted", {"services.x.extra_hosts": ["alpha:=", "zulu:162.242.195.82"]}),
    Loader(_F, "a host port with a sign", "services:\n  x:\n    image: a\n    ports:\n"
           "      - \"8080:80\"\n      - \"${N}:80\"\n", {"N": "+2"}, Error("ports")),
]
