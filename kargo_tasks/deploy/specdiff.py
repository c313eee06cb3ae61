"""What sending a service changes, field by field, for `doit plan`: the
service as kargo resolved it (a stack file's entry) against the spec the
engine runs now.

Shown: the image (`a:1 -> a:2`), the replicas, placement constraints and
ports added or removed, environment entries added, removed or changed by
NAME, and a config's content as a unified diff, with the values the
templates put in it masked (masking.py). Never shown: a value of
the environment (it may be a secret) and a secret's content (a changed
secret says "changed"), as helm-diff hides secrets by default. Pure: the
caller gives what it read from the engine (config contents included).
"""
import decimal

from kargo_tasks.compose.shortsyntax import reference
from kargo_tasks.workspace import masking

CONTEXT = 2  # lines of context around a config's changes


def unescape(value):
    """A stack file's `$$` is one `$` for the engine."""
    return value.replace("$$", "$") if isinstance(value, str) else value


def field_changes(spec, running, doc, config_text):
    """Lines saying what sending `spec` (a resolved service) changes in
    `running` (the engine's service Spec). `doc`: the stack file (its
    top-level configs and secrets); `config_text(name)`: (content, masking
    label) the engine holds for a config name, or None (then a new version
    is read from its file, masked as its label in `doc` says)."""
    container = running.get("TaskTemplate", {}).get("ContainerSpec", {})
    lines = _image(spec, container) + _replicas(spec, running)
    lines += _constraints(spec, running) + _ports(spec, running)
    lines += _environment(spec, container)
    lines += _configs(spec, container, doc, config_text)
    lines += _secrets(spec, container, doc)
    return lines


def _image(spec, container):
    want = unescape(spec.get("image") or "")
    have = (container.get("Image") or "").split("@", 1)[0]
    return [f"image {have} -> {want}"] if want and want != have else []


def _replicas(spec, running):
    want = (spec.get("deploy") or {}).get("replicas")
    have = running.get("Mode", {}).get("Replicated", {}).get("Replicas")
    if want is None or have is None or int(want) == have:
        return []
    return [f"replicas {have} -> {want}"]


def _constraints(spec, running):
    want = set(((spec.get("deploy") or {}).get("placement") or {}).get("constraints") or ())
    have = set(running.get("TaskTemplate", {}).get("Placement", {}).get("Constraints") or ())
    want = {unescape(c) for c in want}
    return ([f"constraint added: {c}" for c in sorted(want - have)]
            + [f"constraint removed: {c}" for c in sorted(have - want)])


def _port_text(published, target, protocol, mode):
    return f"{published or '*'}:{target}/{protocol} ({mode})"


def _ports(spec, running):
    want = {_port_text(p.get("published"), p.get("target"), p.get("protocol", "tcp"),
                       p.get("mode", "ingress"))
            for p in spec.get("ports") or () if isinstance(p, dict)}
    have = {_port_text(p.get("PublishedPort"), p.get("TargetPort"), p.get("Protocol", "tcp"),
                       p.get("PublishMode", "ingress"))
            for p in running.get("EndpointSpec", {}).get("Ports") or ()}
    return ([f"port added: {p}" for p in sorted(want - have)]
            + [f"port removed: {p}" for p in sorted(have - want)])


def engine_text(value):
    """A value of a stack file's `environment` as the engine holds it: the
    CLI's loader makes each one text with Go's fmt.Sprint (1.0 is `1`,
    1000000.0 `1e+06`), None stays a bare name. (The CLI refuses booleans,
    .inf and .nan there.)"""
    if value is None or isinstance(value, str):
        return unescape(value)
    if isinstance(value, float):
        return _go_float(value)
    return str(value)


def _go_float(value):
    """strconv.FormatFloat(value, 'g', -1, 64) as fmt's %v prints a finite
    float: the shortest digits that read back (Python's repr finds the same),
    exponent form below 1e-4 and from 1e6 on, a two-digit exponent at least."""
    sign, digits, exponent = decimal.Decimal(repr(value)).normalize().as_tuple()
    digits = "".join(map(str, digits)) if value else "0"
    point = len(digits) + exponent if value else 1  # digits before the decimal point
    minus = "-" if sign else ""
    power = point - 1
    if power < -4 or power >= 6:
        mantissa = digits[0] + (f".{digits[1:]}" if len(digits) > 1 else "")
        return f"{minus}{mantissa}e{'-' if power < 0 else '+'}{abs(power):02d}"
    if point <= 0:
        return f"{minus}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return f"{minus}{digits}{'0' * (point - len(digits))}"
    return f"{minus}{digits[:point]}.{digits[point:]}"


def _environment(spec, container):
    want = {name: engine_text(value) for name, value in (spec.get("environment") or {}).items()}
    have = {}
    for entry in container.get("Env") or ():
        name, sep, value = entry.partition("=")
        have[name] = value if sep else None
    lines = [f"environment {n} added" for n in sorted(set(want) - set(have))]
    lines += [f"environment {n} removed" for n in sorted(set(have) - set(want))]
    lines += [f"environment {n} changed" for n in sorted(set(want) & set(have))
              if want[n] != have[n]]
    return lines


def _refs(spec, kind, doc):
    """{target: (key, engine name)} of a service's configs or secrets."""
    found = {}
    for ref in spec.get(kind) or ():
        ref = reference(ref)
        item = (doc.get(kind) or {}).get(ref["source"]) or {}
        target = ref.get("target") or ref["source"]
        found[target] = (ref["source"], item.get("name") or ref["source"], item.get("file"))
    return found


def _running_refs(container, kind):
    key = "Config" if kind == "configs" else "Secret"
    return {ref["File"]["Name"] if "File" in ref else ref[f"{key}Name"]: ref[f"{key}Name"]
            for ref in container.get(kind.capitalize()) or ()}


def _compared(spec, container, doc, kind):
    """(target, "added" | "removed" | "changed", name wanted, name running,
    file wanted) of each config or secret that differs, by target."""
    want, have = _refs(spec, kind, doc), _running_refs(container, kind)
    for target in sorted(set(want) | set(have)):
        _source, name, path = want.get(target, (None, None, None))
        if target not in have:
            yield target, "added", name, None, path
        elif target not in want:
            yield target, "removed", None, have[target], None
        elif name != have[target]:
            yield target, "changed", name, have[target], path


def _configs(spec, container, doc, config_text):
    lines = []
    for target, how, name, running, path in _compared(spec, container, doc, "configs"):
        if how != "changed":
            lines.append(f"config {target} {how}")
            continue
        lines.append(f"config {target} changed:")
        old = config_text(running)
        # the engine's copy when it has the version already (a rollback's)
        new = config_text(name) or (_read(path), _label(doc, name))
        if old is None or new[0] is None:
            continue
        lines += [f"  {line}" for line in masking.diff(*old, *new, context=CONTEXT)]
    return lines


def _label(doc, name):
    """The masking label the stack file gives the config `name` (none: all
    of it is hidden)."""
    for item in (doc.get("configs") or {}).values():
        if isinstance(item, dict) and item.get("name") == name:
            return (item.get("labels") or {}).get(masking.LABEL)
    return None


def _secrets(spec, container, doc):
    # a secret's content is never shown
    return [f"secret {target} {how}" for target, how, *_ in
            _compared(spec, container, doc, "secrets")]


def _read(path):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (OSError, UnicodeDecodeError, TypeError):
        return None
