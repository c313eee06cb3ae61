"""Compose files read as the docker CLI reads them, and written so it reads
them back the same.

The CLI parses compose files with go-yaml v3 (YAML 1.2 rules, with 1.1
octals kept); PyYAML follows YAML 1.1. The same file would otherwise mean
other values: `yes`, `on`, `n` are strings to Docker and booleans to PyYAML,
`3000:30` a string to Docker and the base-60 integer 180030 to PyYAML,
`0o17` the integer 15 to Docker and a string to PyYAML, and a `\\'` inside a
double-quoted string is accepted by Docker and refused by PyYAML. Here a
plain scalar resolves by go-yaml v3's rules (resolve.go), a key defined twice
in one mapping is an error as it is for Docker, and the dumper quotes any
string Docker would read as something else.

Timestamps: go-yaml gives the CLI a time value, which it turns into text as
Go prints times (`2001-12-14 00:00:00 +0000 UTC`); that text is what a
label or variable gets, so that is what a timestamp loads as here.
"""
import codecs
import datetime
import re

import yaml
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from kargo_tasks.base.errors import ConfigError

STR = "tag:yaml.org,2002:str"
INT = "tag:yaml.org,2002:int"
FLOAT = "tag:yaml.org,2002:float"
BOOL = "tag:yaml.org,2002:bool"
NULL = "tag:yaml.org,2002:null"
MERGE = "tag:yaml.org,2002:merge"
TIMESTAMP = "tag:yaml.org,2002:timestamp"

# go-yaml v3 resolve.go: the words it looks up in a table, by first character.
WORDS = {
    **dict.fromkeys(("true", "True", "TRUE", "false", "False", "FALSE"), BOOL),
    **dict.fromkeys(("", "~", "null", "Null", "NULL"), NULL),
    "<<": MERGE,
}
# go-yaml v3's infinities and NaN: floats, which the CLI cannot validate (it
# checks its schema on the document as JSON: "json: unsupported value: +Inf")
SPECIAL_FLOATS = {
    **dict.fromkeys((".nan", ".NaN", ".NAN"), float("nan")),
    **dict.fromkeys((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), float("inf")),
    **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), float("-inf")),
}
# go-yaml v3 decode.go: a document whose aliases expand too much is refused
ALIAS_RATIO_LOW, ALIAS_RATIO_HIGH = 400_000, 4_000_000
YAML_STYLE_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
# strconv.ParseFloat of a scalar that starts with "." (its other forms,
# hexadecimal and words, cannot start with a dot)
DOT_FLOAT = re.compile(r"\.[0-9]+([eE][-+]?[0-9]+)?")
DIGITS = {2: re.compile(r"[01]+"), 8: re.compile(r"[0-7]+"), 10: re.compile(r"[0-9]+"),
          16: re.compile(r"[0-9a-fA-F]+")}
# go-yaml tries time.Parse with these layouts on scalars that start "YYYY-".
TIMESTAMPS = [
    re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})[Tt](\d{1,2}):(\d{1,2}):(\d{1,2})(\.\d+)?"
               r"(Z|[-+]\d{2}:\d{2})"),
    re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2}) (\d{1,2}):(\d{1,2}):(\d{1,2})(\.\d+)?()"),
    re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})()()()()()"),
]
INT64 = 2 ** 63
UINT64 = 2 ** 64


def go_int(text):
    """strconv.ParseInt(text, 0, 64), then ParseUint: the value or None."""
    sign, body = 1, text
    if body[:1] in ("+", "-"):
        sign, body = (-1 if body[0] == "-" else 1), body[1:]
    base, digits = 10, body
    if body[:1] == "0" and len(body) > 1:
        prefix = body[1].lower()
        base, digits = {"x": (16, body[2:]), "o": (8, body[2:]), "b": (2, body[2:])}.get(
            prefix, (8, body[1:]))
    if not DIGITS[base].fullmatch(digits):
        return None
    value = sign * int(digits, base)
    if -INT64 <= value < INT64:
        return value
    if text[0] not in "+-" and value < UINT64:  # ParseUint takes no sign
        return value
    return None


def go_scalar(text):
    """(tag, value) of a plain scalar as go-yaml v3 resolves it."""
    if text in WORDS:
        tag = WORDS[text]
        return tag, None if tag in (NULL, MERGE) else text
    if text in SPECIAL_FLOATS:
        return FLOAT, SPECIAL_FLOATS[text]
    first = text[0]
    if first == ".":
        if DOT_FLOAT.fullmatch(text):
            return FLOAT, float(text)
    elif first in "0123456789+-":
        stamp = go_timestamp(text)
        if stamp is not None:
            return TIMESTAMP, stamp
        plain = text.replace("_", "")
        if plain:
            number = go_int(plain)
            if number is not None:
                return INT, number
            if YAML_STYLE_FLOAT.fullmatch(plain):
                number = float(plain)
                if number not in (float("inf"), float("-inf")):  # ParseFloat's range error
                    return FLOAT, number
    return STR, text


def go_timestamp(text):
    """A scalar time.Parse accepts, as Go prints the time; else None."""
    if not re.match(r"\d{4}-", text):
        return None
    for layout in TIMESTAMPS:
        match = layout.fullmatch(text)
        if match:
            break
    else:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        moment = datetime.datetime(int(year), int(month), int(day), int(hour or 0),
                                   int(minute or 0), int(second or 0))
    except ValueError:
        return None
    if (hour and len(hour) > 2) or (minute and len(minute) > 2) or (second and len(second) > 2):
        return None
    nanos = (fraction or "")[1:10].ljust(9, "0") if fraction else ""
    shown = moment.strftime("%Y-%m-%d %H:%M:%S")
    if nanos.strip("0"):
        shown += "." + nanos.rstrip("0")
    if not zone or zone == "Z":
        return f"{shown} +0000 UTC"
    offset = zone.replace(":", "")
    # A time parsed with a numeric zone and no name prints the offset twice.
    return f"{shown} {offset} {offset}"


class Loader(yaml.SafeLoader):
    """PyYAML's safe loader with go-yaml v3's scalars, escapes and keys."""

    # go-yaml accepts \' in a double-quoted scalar and refuses \/; PyYAML's
    # scanner does the opposite. The table is the scanner's class constant.
    ESCAPE_REPLACEMENTS = {**{k: v for k, v in yaml.SafeLoader.ESCAPE_REPLACEMENTS.items()
                              if k != "/"}, "'": "'"}

    def resolve(self, kind, value, implicit):
        if kind is ScalarNode and implicit[0]:
            return go_scalar(value)[0]
        return super().resolve(kind, value, implicit)

    def compose_node(self, parent, index):
        # go-yaml takes an anchor's newest definition; PyYAML refuses a second
        if not self.check_event(yaml.AliasEvent):
            anchor = getattr(self.peek_event(), "anchor", None)
            if anchor is not None:
                self.anchors.pop(anchor, None)
        return super().compose_node(parent, index)


def _constructor(tag):
    explicit = yaml.SafeLoader.yaml_constructors[tag]

    def construct(loader, node):
        if node.style is None:  # plain: the value go-yaml gives it
            found, value = go_scalar(loader.construct_scalar(node))
            if tag == FLOAT and found == INT:  # `!!float 3`: go-yaml makes it a float
                found, value = FLOAT, float(value)
            if found != tag and node.tag == tag and tag != TIMESTAMP:
                raise _cannot(node, tag)
        else:  # a quoted scalar with an explicit !!tag
            try:
                value = explicit(loader, node)
            except ValueError:
                raise _cannot(node, tag)
        if isinstance(value, float) and (value != value or value in (float("inf"), -float("inf"))):
            raise yaml.constructor.ConstructorError(
                None, None, f"{node.value} is a float the docker CLI refuses (json: unsupported "
                "value); quote it for the text", node.start_mark)
        return value
    return construct


def _cannot(node, tag):
    short = "!!" + tag.rsplit(":", 1)[1]
    return yaml.constructor.ConstructorError(
        None, None, f"cannot decode {node.value!r} as a {short}", node.start_mark)


for _tag in (INT, FLOAT, TIMESTAMP):
    Loader.add_constructor(_tag, _constructor(_tag))


class Dumper(yaml.SafeDumper):
    """Quotes the strings go-yaml v3 would not read back as strings, and those
    a YAML 1.1 reader would not (`yes`, `on`, `1:30`: the go-yaml v2 of docker
    CLIs before 23.0), so any CLI reads the values kargo wrote."""

    def resolve(self, kind, value, implicit):
        if kind is ScalarNode and implicit[0]:
            tag = go_scalar(value)[0]
            if tag != STR:
                return tag
            if value in ("y", "Y", "n", "N"):  # booleans to go-yaml v2, not to PyYAML
                return BOOL
        return super().resolve(kind, value, implicit)

    def ignore_aliases(self, data):
        return True  # the same list twice is written twice, not as &id001


def decode(data):
    """The text of a YAML file's bytes as go-yaml v3 reads them: UTF-8, or
    UTF-16 when a byte order mark says so (a byte order mark is dropped);
    UnicodeDecodeError otherwise."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")
    return data.decode("utf-8-sig")


def load(text, where):
    """(document, lines) of a compose file's text: `lines` maps each path of
    the document (a tuple of keys and list indexes) to its line, for errors
    that name the line. Errors here name `where`:line."""
    try:
        loader = Loader(text)
        try:
            # the first document only, as the CLI reads it (it ignores the rest)
            node = loader.get_node() if loader.check_node() else None
            if node is None:
                return None, {}
            _check_aliases(node)  # before anything walks the aliases
            _check_keys(node)  # before merge keys are flattened into mappings
            data = loader.construct_document(node)
        finally:
            loader.dispose()
    except RecursionError:  # PyYAML composes recursively: a few hundred levels at most
        raise ConfigError("not valid YAML for kargo: nested too deep", where=where) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"{where}:{mark.line + 1}" if mark else where
        raise ConfigError(f"not valid YAML: {getattr(exc, 'problem', None) or exc}", where=at)
    lines = {}
    _index(node, (), lines)
    return data, lines


def _check_aliases(root):
    """go-yaml v3's two refusals of aliases, in time linear in the nodes: an
    anchor whose value contains itself, and a document whose aliases expand
    too much ("billion laughs"): go-yaml counts the nodes it decodes, and
    those it decodes through an alias, and refuses a ratio over
    allowedAliasRatio (decode.go)."""
    expanded, open_nodes = {}, set()  # id -> nodes decoded for it, aliases expanded

    def walk(node):
        """(expanded size, size with each alias as one node) of a node at its
        definition: PyYAML shares an aliased node, so a node met again is an alias."""
        open_nodes.add(id(node))
        total = plain = 1
        children = (node.value if isinstance(node, SequenceNode) else
                    [n for pair in node.value for n in pair] if isinstance(node, MappingNode)
                    else [])
        for child in children:
            if id(child) in open_nodes:
                raise yaml.constructor.ConstructorError(
                    None, None, "an anchor's value contains itself (an alias inside its anchor)",
                    node.start_mark)
            if id(child) in expanded:  # an alias: decoded again, all of it
                total += 1 + expanded[id(child)]
                plain += 1
            else:
                got_total, got_plain = walk(child)
                total += got_total
                plain += got_plain
        open_nodes.discard(id(node))
        expanded[id(node)] = total
        return total, plain

    decoded, plain = walk(root)
    through_aliases = decoded - plain
    if through_aliases > 100 and decoded > 1000 and \
            through_aliases / decoded > _allowed_alias_ratio(decoded):
        raise yaml.constructor.ConstructorError(
            None, None, f"document contains excessive aliasing (its aliases expand to {decoded} "
            "nodes), refused as go-yaml refuses it", root.start_mark)


def _allowed_alias_ratio(decoded):
    if decoded <= ALIAS_RATIO_LOW:
        return 0.99
    if decoded >= ALIAS_RATIO_HIGH:
        return 0.10
    return 0.99 - 0.89 * (decoded - ALIAS_RATIO_LOW) / (ALIAS_RATIO_HIGH - ALIAS_RATIO_LOW)


def _check_keys(node, seen_nodes=None):
    """A key written twice in one mapping is an error, as it is for Docker."""
    seen_nodes = set() if seen_nodes is None else seen_nodes
    if id(node) in seen_nodes:
        return
    seen_nodes.add(id(node))
    if isinstance(node, MappingNode):
        keys = {}
        for key, value in node.value:
            if key.tag != MERGE and isinstance(key, ScalarNode):
                if key.value in keys:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"key {key.value!r} is already defined on line {keys[key.value]}",
                        key.start_mark)
                keys[key.value] = key.start_mark.line + 1
            _check_keys(value, seen_nodes)
    elif isinstance(node, SequenceNode):
        for item in node.value:
            _check_keys(item, seen_nodes)


def _index(node, path, lines):
    if len(path) > 12 or path in lines:  # aliases may nest; the first place wins
        return
    lines[path] = node.start_mark.line + 1
    if isinstance(node, MappingNode):  # flattened: merged keys, then its own
        for key, value in node.value:
            if isinstance(key, ScalarNode):
                step = go_scalar(key.value)[1] if key.style is None and key.tag != STR else key.value
                lines.pop(path + (step,), None)
                _index(value, path + (step,), lines)
                lines[path + (step,)] = key.start_mark.line + 1
    elif isinstance(node, SequenceNode):
        for i, item in enumerate(node.value):
            _index(item, path + (i,), lines)


def dump(doc):
    return yaml.dump(doc, Dumper=Dumper, sort_keys=False, default_flow_style=False,
                     allow_unicode=True, width=1000)
