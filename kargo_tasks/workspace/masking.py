"""Which parts of a config's text came from values that must never be shown,
and a config's diff with those parts masked (`doit plan`, `rollback`).

A value counts (is hidden) when it came from a variable a rendered file reads
(`.tpl`, `.j2`) and that `KARGO_PUBLIC` does not name; a config made from a
file under `secrets/` is hidden whole. Masking is by position, not by value:
a template is rendered a second time with each such value between two
Unicode noncharacters, which gives the spans of the text they cover (escaped
forms included: the markers go around what the template wrote). The spans
travel with the config version they belong to, as its label `LABEL` on the
engine, because kargo never knows an earlier value in clear: the diff of an
old version against a new one masks each side by its own spans.

Label values: "none" (nothing hidden), "all" (everything hidden), or
"start-end,start-end" (offsets in characters of the config's text). A config
without the label, or with one that does not read, is hidden whole.
"""
import difflib
import fnmatch
from collections.abc import Callable, Iterable
from typing import Any

from . import sealed

PUBLIC = "KARGO_PUBLIC"
LABEL = "org.kargo.masked"
MASK = "***"
NONE, ALL = "none", "all"
# noncharacters: never meant to appear in text a template or a value holds
OPEN, CLOSE = "\ufdd0", "\ufdd1"


def public(env: Any) -> Callable[[str], bool]:
    """`name -> bool`: the variables whose values may show, as `KARGO_PUBLIC`
    lists them (names, or shell patterns such as `*_TAG`)."""
    patterns = env.words(PUBLIC)
    # a value from an encrypted env file (sealed.py) is never shown
    hidden = sealed.secret_names(env)
    return lambda name: name not in hidden and any(fnmatch.fnmatchcase(name, p) for p in patterns)


def mark(value: str) -> str:
    return f"{OPEN}{value}{CLOSE}"


def unmark(text: str):
    """(text without markers, [(start, end)] of the marked parts in it), or
    (text, None) when the markers do not pair up."""
    clean, spans, depth, start = [], [], 0, 0
    size = 0
    for ch in text:
        if ch == OPEN:
            if depth == 0:
                start = size
            depth += 1
        elif ch == CLOSE:
            if depth == 0:
                return text, None
            depth -= 1
            if depth == 0 and size > start:
                spans.append((start, size))
        else:
            clean.append(ch)
            size += 1
    return "".join(clean), (None if depth else spans)


def spans_of(text: str, marked: str):
    """The spans to hide of `text` (a rendered file) from `marked` (the same
    rendering with markers), or ALL when they cannot be trusted."""
    if OPEN in text or CLOSE in text:
        return ALL
    clean, spans = unmark(marked)
    if spans is None or clean != text:
        return ALL  # the markers changed what the template did
    return spans


def encode(spans) -> str:
    if spans == ALL:
        return ALL
    return ",".join(f"{s}-{e}" for s, e in _merged(spans)) or NONE


def decode(label):
    """The spans a label names, or ALL (no label, or one that does not read)."""
    if label == NONE:
        return []
    try:
        spans = [tuple(int(n) for n in part.split("-")) for part in label.split(",")]
    except (AttributeError, ValueError):
        return ALL
    if not all(len(s) == 2 and 0 <= s[0] <= s[1] for s in spans):
        return ALL
    return spans


def hide(text: str, values: Iterable[str | None]) -> str:
    """`text` (an error message) with each of `values` that it quotes as
    MASK; values under 3 characters are left (they would mask words)."""
    for value in sorted({v for v in values if v and len(v) >= 3}, key=len, reverse=True):
        text = text.replace(value, MASK)
    return text


def diff(old: str, old_label: str | None, new: str, new_label: str | None, context: int = 2,
         names: tuple[str, str] = ("running", "new")) -> list[str]:
    """A unified diff of `old` against `new` (texts), computed on the texts
    as they are, each line shown with its side's hidden spans as MASK (a line
    that did not change: the spans of both sides, or of the one that knows
    them)."""
    old_spans, new_spans = decode(old_label), decode(new_label)
    a, b = _lines(old, old_spans), _lines(new, new_spans)
    # A line both sides hold is the same text: when one side's spans are
    # unknown, the other side's say what of it is a value (the rest is the
    # template's own text, or public).
    use = (old_spans != ALL or new_spans == ALL, new_spans != ALL or old_spans == ALL)
    matcher = difflib.SequenceMatcher(None, [t for t, _ in a], [t for t, _ in b])
    lines: list[str] = []
    for group in matcher.get_grouped_opcodes(context):
        if not lines:
            lines += [f"--- {names[0]}", f"+++ {names[1]}"]
        first, last = group[0], group[-1]
        lines.append(f"@@ -{_range(first[1], last[2])} +{_range(first[3], last[4])} @@")
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                lines += [" " + _show(a[i][0], a[i][1] * use[0] + b[j][1] * use[1])
                          for i, j in zip(range(i1, i2), range(j1, j2))]
                continue
            lines += ["-" + _show(*a[i]) for i in range(i1, i2)]
            lines += ["+" + _show(*b[j]) for j in range(j1, j2)]
    return lines


def _range(start, stop):
    """A hunk's range as difflib (and diff -u) writes it."""
    beginning, length = start + 1, stop - start
    if length == 1:
        return f"{beginning}"
    if not length:
        beginning -= 1
    return f"{beginning},{length}"


def _lines(text, spans):
    """[(line without its ending, [(start, end)] to hide in it)]."""
    found, offset = [], 0
    for raw in text.splitlines(keepends=True):
        line = raw.splitlines()[0]
        if spans == ALL:
            hide = [(0, len(line))] if line else []
        else:
            hide = [(max(s, offset) - offset, min(e, offset + len(line)) - offset)
                    for s, e in spans if s < offset + len(line) and e > offset]
        found.append((line, hide))
        offset += len(raw)
    return found


def _merged(spans):
    out = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def _show(line, hide):
    parts, at = [], 0
    for s, e in _merged(hide):
        parts += [line[at:s], MASK]
        at = e
    return "".join(parts) + line[at:]
