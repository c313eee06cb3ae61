r"""`.env` files, read as Docker Compose reads them (compose-go's `dotenv`).

- `NAME=value`, `NAME: value`, `export NAME=value`; spaces around `=` are
  ignored; a name is letters, digits and `_ . - [ ]`.
- Unquoted: to the end of the line, cut at the first ` #` (space, hash),
  trailing blanks trimmed, no backslash escapes.
- Double-quoted: may span lines; `\n \t \r \a \b \f \v \\ \" \$` and
  `\0NNN` are escapes, any other backslash stays as written.
- Single-quoted: may span lines; only `\'` is an escape; literal otherwise.
- A line with only `NAME` takes NAME from the layers below it (the shell,
  then earlier files): it sets nothing itself.
- `#` starts a comment at the start of a line or after a closing quote.

Unquoted and double-quoted values are then interpolated (interpolate.py),
single-quoted ones are not. Where kargo is stricter than compose: a name
set twice in one file, text after a closing quote and a line with no name
are errors naming the line, and no value is ever echoed in an error.

Our own code, not python-dotenv (which kargo used before): python-dotenv
reads 23 of the 64 texts of tests/unit/test_dotenv.py otherwise than
compose-go does (a tab before #, `NAME: value`, `\'`, `\$` and octal escapes,
`\\` in single quotes, `$VAR` and `$$`, nested defaults, a bare NAME...).
"""
import re
from dataclasses import dataclass

from kargo_tasks.base.errors import ConfigError

BOM = "\ufeff"
# compose-go's isSpace: what may surround a name and `=` (not the newline)
BLANKS = "\t\v\f\r \x85\xa0"
ESCAPE = re.compile(r'\\(?:[abcfnrtv$"\\]|0[0-9]{0,3})')
ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
           "\\": "\\", '"': '"'}
PARSE = "cannot parse this line"
EXPORT = re.compile(r"export[ \t\v\f\r\x85\xa0]+")


@dataclass(frozen=True)
class Entry:
    name: str
    raw: str        # the value after quote and escape processing
    quote: str      # "", '"' or "'": what interpolation the value gets
    line: int


def _name_char(ch):
    return ch.isalnum() or ch in "_.-[]"


def parse(text, where, *, last_wins=False):
    """The entries of a dotenv file's text, in order; errors name `where`:line.
    `last_wins`: a name set twice is not an error, its last line counts (as
    for compose; what reads a broken file for a few names only wants)."""
    if text.startswith(BOM):
        text = text[1:]
    entries, seen, pos, n = [], {}, 0, len(text)

    def line_at(offset):
        return text.count("\n", 0, offset) + 1

    def fail(message, offset):
        raise ConfigError(message, where=f"{where}:{line_at(offset)}")

    while True:
        # the next statement: skip blanks, newlines and comment lines
        while pos < n and (text[pos].isspace() or text[pos] == "#"):
            if text[pos] == "#":
                end = text.find("\n", pos)
                pos = n if end < 0 else end
            pos += 1 if pos < n else 0
        if pos >= n:
            return entries
        start = pos
        match = EXPORT.match(text, pos)
        if match:
            pos = match.end()
        name_start = pos
        while pos < n and (_name_char(text[pos]) or text[pos] in BLANKS):
            pos += 1
        name = text[name_start:pos].rstrip(BLANKS)
        sep = text[pos] if pos < n else "\n"
        # Never echo the text: a line that is not NAME=value may be a value.
        if any(ch in BLANKS for ch in name) or sep not in "=:\n":
            fail(f"{PARSE}: expected NAME=value (a name is letters, digits and _ . - [ ])", start)
        if not name:
            fail(f"{PARSE}: no variable name before the =", start)
        if name in seen and not last_wins:
            fail(f"{name} is already set on line {seen[name]}", start)
        seen[name] = line_at(start)
        pos += 1
        if sep == "\n":
            continue  # `NAME` alone: inherited, sets nothing here
        while pos < n and text[pos] in BLANKS:
            pos += 1
        quote = text[pos] if pos < n and text[pos] in "'\"" else ""
        if quote:
            raw, pos = _quoted(text, pos, quote, lambda: fail(
                f"{PARSE}: the value of {name} has no closing quote", start))
            rest_end = text.find("\n", pos)
            rest = text[pos: n if rest_end < 0 else rest_end].strip(BLANKS)
            if rest and not rest.startswith("#"):
                fail(f"{PARSE}: text after the closing quote of {name}", pos)
        else:
            end = text.find("\n", pos)
            end = n if end < 0 else end
            raw = text[pos:end].split(" #", 1)[0].rstrip()
            pos = end
        entries.append(Entry(name, raw, quote, seen[name]))


def _quoted(text, start, quote, unterminated):
    """(value, offset after the closing quote) of the quoted value at `start`."""
    chars, escaped, pos = [], False, start + 1
    while pos < len(text):
        ch = text[pos]
        pos += 1
        if ch != quote:
            if ch == "\\" and not escaped:
                escaped = True
                continue
            if escaped:
                escaped = False
                chars.append("\\")
            chars.append(ch)
            continue
        if escaped:  # \" in "...", \' in '...'
            escaped = False
            chars.append(ch)
            continue
        value = "".join(chars)
        return (_unescape(value) if quote == '"' else value), pos
    unterminated()


def _unescape(value):
    def one(match):
        seq = match.group()
        if seq == "\\$":
            return "$$"  # a literal $ once interpolated
        if seq[1] == "0":  # \0NNN: three octal digits make one byte
            digits = seq[2:]
            ok = len(digits) == 3 and set(digits) <= set("01234567") and int(digits, 8) < 256
            return chr(int(digits, 8)) if ok else seq
        return ESCAPES.get(seq[1], seq)  # \c: kept as written
    return ESCAPE.sub(one, value)
