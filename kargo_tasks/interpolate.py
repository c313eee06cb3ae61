"""`${VAR}` substitution, shared by the environment, `.tpl` templates and
compose files.

Forms (the compose/POSIX subset Kargo workspaces use):
  ${NAME}            value of NAME; undefined is an error, never ""
  ${NAME:-default}   default when NAME is unset or empty
  ${NAME-default}    default when NAME is unset
  ${NAME:?message}   error with message when NAME is unset or empty
  ${NAME?message}    error with message when NAME is unset
Defaults may themselves contain `${...}`. A `$` not followed by `{` is kept
as is, so passwords with `$` round-trip. With `dollar_escape` (compose
files), `$$` stands for a literal `$`.
"""
import re

from .errors import ConfigError

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def line_of(text, offset, first_line=1):
    return first_line + text.count("\n", 0, offset)


def substitute(text, lookup, *, where, first_line=1, dollar_escape=False, reads=None):
    """Return `text` with every `${...}` replaced by `lookup(name)` (None = unset).

    `where` names the file for errors; every name looked up is added to the
    set `reads` (the consumer's dependency on the environment)."""
    reads = set() if reads is None else reads
    out, pos = _expand(text, 0, lookup, where, first_line, dollar_escape, reads)
    return out


def _fail(message, text, offset, where, first_line):
    raise ConfigError(message, where=f"{where}:{line_of(text, offset, first_line)}")


def _expand(text, pos, lookup, where, first_line, dollar_escape, reads, opened=None):
    """Expand from `pos`; inside a default or message (`opened` = offset of
    its `${`), stop at the closing `}` and return (text, its position)."""
    nested = opened is not None
    parts = []
    n = len(text)
    while pos < n:
        ch = text[pos]
        if nested and ch == "}":
            return "".join(parts), pos
        if ch != "$":
            stop = pos + 1
            while stop < n and text[stop] != "$" and not (nested and text[stop] == "}"):
                stop += 1
            parts.append(text[pos:stop])
            pos = stop
            continue
        nxt = text[pos + 1] if pos + 1 < n else ""
        if dollar_escape and nxt == "$":
            parts.append("$")
            pos += 2
        elif nxt == "{":
            value, pos = _braced(text, pos, lookup, where, first_line, dollar_escape, reads)
            parts.append(value)
        else:
            parts.append("$")
            pos += 1
    if nested:
        # Name the line of the `${` left open: the end of the text says nothing.
        _fail("unterminated ${ (missing })", text, opened, where, first_line)
    return "".join(parts), pos


def _braced(text, start, lookup, where, first_line, dollar_escape, reads):
    """Expand the `${...}` starting at `start`; return (value, position after)."""
    match = NAME.match(text, start + 2)
    if not match:
        if text.find("}", start) < 0:
            _fail("unterminated ${ (missing })", text, start, where, first_line)
        _fail(f"bad variable reference {text[start:text.find('}', start) + 1]!r}",
              text, start, where, first_line)
    name = match.group()
    reads.add(name)
    value = lookup(name)
    pos = match.end()
    op = ""
    for candidate in (":-", ":?", "-", "?"):
        if text.startswith(candidate, pos):
            op = candidate
            break
    if not op:
        if text.find("}", pos) < 0:
            _fail("unterminated ${ (missing })", text, start, where, first_line)
        if text[pos] != "}":
            _fail(f"bad variable reference starting {text[start:pos + 1]!r}",
                  text, start, where, first_line)
        if value is None:
            _fail(f"variable {name} is not defined (give it a value or write ${{{name}:-default}})",
                  text, start, where, first_line)
        return value, pos + 1
    missing = value is None or (op.startswith(":") and value == "")
    if missing:
        arg, end = _expand(text, pos + len(op), lookup, where, first_line, dollar_escape, reads,
                           start)
    else:  # the default is not used: only find where it ends
        # Every name counts as set and non-empty there, so nothing in it
        # (`${B}`, `${B:?msg}`) can fail for a value that is not needed.
        arg, end = _expand(text, pos + len(op), lambda _: "set", where, first_line,
                           dollar_escape, set(), start)
    if op.endswith("?") and missing:
        _fail(f"variable {name} is required: {arg or 'not set'}", text, start, where, first_line)
    if op.endswith("-") and missing:
        return arg, end + 1
    return value, end + 1
