"""Variable references, as the compose specification defines them; shared by
compose files, `.env` values and `.tpl` templates.

  $NAME, ${NAME}     value of NAME; undefined is an error (compose: "")
  ${NAME:-default}   default when NAME is unset or empty
  ${NAME-default}    default when NAME is unset
  ${NAME:?message}   error with message when NAME is unset or empty
  ${NAME?message}    error with message when NAME is unset
  ${NAME:+other}     other when NAME is set and not empty, else ""
  ${NAME+other}      other when NAME is set, else ""
  $$                 a literal $

Defaults, messages and replacements may hold references themselves
(`${A:-${B:-x}}`); braces inside them pair up as compose-go pairs them.
With `args="literal"` (compose files, as docker/cli's loader reads them) an
argument is text as written up to the first `}` (`${P:-$2y$05$h}` is
`$2y$05$h`, `${A:-$$}` is `$$`) except a nested `${...}`, which kargo still
expands (docker/cli leaves the text `${B}`: documented in the README). An
unbraced name is the longest run of letters, digits and `_` (`$A.b` is A's
value then `.b`). A `$` followed by anything else is `lone`: compose files
refuse it, as `docker stack deploy` does ("invalid interpolation format");
`.env` values and templates keep it, as compose keeps it in `.env` files.
"""
import re
from collections.abc import Callable

from kargo_tasks.base.errors import ConfigError

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
OPERATORS = (":-", ":?", ":+", "-", "?", "+")
FIX = "write $$ for a literal $"


def line_of(text, offset, first_line=1):
    return first_line + text.count("\n", 0, offset)


def substitute(text: str, lookup: Callable[[str], str | None], *, where: str,
               first_line: int = 1, lone: str = "keep", reads: set[str] | None = None,
               args: str = "expand", mark: Callable[[str, str], str] | None = None) -> str:
    """`text` with every reference replaced by `lookup(name)` (None = unset).

    `where` names the file in errors; `lone` is "keep" or "error", `args`
    "expand" or "literal" (see the module's doc); every name looked up is
    added to the set `reads`.
    `mark(name, value)`, when given, is what a variable's value becomes where
    it lands in the result (masking.py wraps the values it hides), decisions
    (`:-`, `:?`, ...) being taken on the value itself."""
    if "$" not in text:
        return text
    reads = set() if reads is None else reads
    return _Expansion(text, lookup, where, first_line, lone, reads, args, mark).run(0, None)[0]


def _as_is(_name, value):
    return value


class _Expansion:
    def __init__(self, text, lookup, where, first_line, lone, reads, args="expand", mark=None):
        self.text, self.lookup, self.where = text, lookup, where
        self.first_line, self.lone, self.reads = first_line, lone, reads
        self.literal = args == "literal"
        self.mark = mark or _as_is

    def fail(self, message, offset):
        raise ConfigError(message, where=f"{self.where}:{line_of(self.text, offset, self.first_line)}")

    def run(self, pos, opened):
        """Expand from `pos`. Inside an argument (`opened` = offset of its
        `${`), stop at the `}` that closes it: return (text, its offset)."""
        text, parts, depth = self.text, [], 0
        while pos < len(text):
            ch = text[pos]
            if opened is not None and ch == "}":
                if depth == 0:
                    return "".join(parts), pos
                depth -= 1
            elif opened is not None and ch == "{" and not self.literal:
                depth += 1
            if ch != "$":
                parts.append(ch)
                pos += 1
                continue
            nxt = text[pos + 1: pos + 2]
            if opened is not None and self.literal and nxt != "{":
                parts.append(ch)  # docker/cli: an argument is text as written
                pos += 1
                continue
            if nxt == "$":
                parts.append("$")
                pos += 2
            elif nxt == "{":
                value, pos = self.braced(pos)
                parts.append(value)
            else:
                match = NAME.match(text, pos + 1)
                if match:
                    parts.append(self.value(match.group(), pos))
                    pos = match.end()
                elif self.lone == "error":
                    self.fail(f"a $ must start a reference ($NAME or ${{NAME}}): {FIX}", pos)
                else:
                    parts.append("$")
                    pos += 1
        if opened is not None:
            self.fail("unterminated ${ (missing })", opened)
        return "".join(parts), pos

    def value(self, name, offset):
        self.reads.add(name)
        value = self.lookup(name)
        if value is None:
            self.fail(f"variable {name} is not defined (give it a value, or write "
                      f"${{{name}:-default}}; {FIX})", offset)
        return self.mark(name, value)

    def _as_docker_reads(self, start, name, op):
        """docker/cli splits `${...}` (up to its first `}`) at the first `:-`
        anywhere, else the first `-`, then `:?`, then `?`: where that is not
        the operator after the name (`${A:?x-y}`, `${A-x:-y}`), the CLI means
        another variable: refuse rather than deploy other values."""
        end = self.text.find("}", start)
        content = self.text[start + 2: end if end >= 0 else len(self.text)]
        for sep in (":-", "-", ":?", "?"):
            if sep in content:
                theirs = content.split(sep, 1)[0]
                if (theirs, sep) != (name, op):
                    shown = self.text[start: end + 1]
                    self.fail(f"{shown!r}: docker stack deploy reads it as a {sep} of a variable "
                              f"named {theirs!r} (it splits at the first :- or -); write it so "
                              "both read it the same", start)
                return

    def braced(self, start):
        """Expand the `${...}` at `start`: (value, offset after it)."""
        text = self.text
        match = NAME.match(text, start + 2)
        end = text.find("}", start)
        if not match:
            if end < 0:
                self.fail("unterminated ${ (missing })", start)
            self.fail(f"bad variable reference {text[start:end + 1]!r} ({FIX})", start)
        name, pos = match.group(), match.end()
        if text.startswith("}", pos):
            return self.value(name, start), pos + 1
        op = next((op for op in OPERATORS if text.startswith(op, pos)), None)
        if op is None:
            if end < 0:
                self.fail("unterminated ${ (missing })", start)
            self.fail(f"bad variable reference {text[start:end + 1]!r} ({FIX})", start)
        if self.literal:
            self._as_docker_reads(start, name, op)
        self.reads.add(name)
        value = self.lookup(name)
        empty = value is None or (op[0] == ":" and value == "")
        used = empty if op[-1] in "-?" else not empty
        if used:
            arg, close = self.run(pos + len(op), start)
        else:  # not needed: only find where it ends, reading and failing on nothing
            arg, close = _Expansion(text, lambda _: "set", self.where, self.first_line,
                                    "keep", set(), "literal" if self.literal else "expand"
                                    ).run(pos + len(op), start)
        if op[-1] == "?" and used:
            self.fail(f"variable {name} is required: {arg or 'not set'}", start)
        if op[-1] == "-":
            return (arg if used else self.mark(name, value)), close + 1
        if op[-1] == "+":
            return (arg if used else ""), close + 1
        return self.mark(name, value), close + 1
