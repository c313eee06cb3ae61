"""The short forms of ports, volumes and config or secret references, expanded as the docker CLI expands
them when it loads a compose file (`nat.ParsePortSpecs` and
`ConvertPortToPortConfig` for ports, `loader.ParseVolume` for volumes).

kargo needs the long forms for two of Docker's rules: several files merge a
service's ports by published port and its volumes by target, and a bind
mount's relative source is made absolute against the compose file's folder.
Writing the long form into the stack file changes nothing for the engine:
the CLI makes exactly these entries from the short form.
"""
import ipaddress
import re

PROTOCOLS = ("tcp", "udp", "sctp")
PROPAGATIONS = {"shared", "slave", "private", "rshared", "rslave", "rprivate"}


DIGITS = re.compile(r"[0-9]+")


class SyntaxProblem(ValueError):
    """A short form Docker refuses; the message says why."""


def _port_range(text):
    """(start, end) of "80" or "80-81" (nat.ParsePortRange)."""
    start, sep, end = text.partition("-")
    # strconv.ParseUint: ASCII digits only (Python's int takes "+2", " 2", "1_0")
    if not DIGITS.fullmatch(start) or (sep and not DIGITS.fullmatch(end)):
        raise SyntaxProblem(f"invalid port {text!r}")
    first = int(start, 10)
    last = int(end, 10) if sep else first
    if not (0 <= first <= 65535 and 0 <= last <= 65535) or last < first:
        raise SyntaxProblem(f"invalid port range {text!r}")
    return first, last


def _split(spec):
    """(host IP, host port, container port) as nat.splitParts cuts them."""
    parts = spec.split(":")
    if len(parts) == 1:
        return "", "", parts[0]
    if len(parts) == 2:
        return "", parts[0], parts[1]
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    return ":".join(parts[:-2]), parts[-2], parts[-1]


def labels(value: list | dict | None) -> dict:
    """Labels in their mapping form: a list is read as the CLI reads one
    (`key=value`, a bare `key` empty). The one rule, for the labels kargo adds
    to a config and to a config it creates itself."""
    if isinstance(value, list):
        return dict(str(entry).partition("=")[::2] for entry in value)
    return dict(value or {})


def reference(ref: str | dict) -> dict:
    """A service's config or secret reference in its long form: the short
    one is the name alone (`configs: [site]`), the long one `{source: site,
    target: ...}`. The one rule, for a file loaded and for a stack file
    read back (a kept version, a file resolved before)."""
    return ref if isinstance(ref, dict) else {"source": ref}


def ports(spec):
    """The long-form entries of a short port `spec` ("8080:80/udp", 80, ...)."""
    spec = str(spec)
    ip, host, container = _split(spec)
    container, _, proto = container.partition("/")
    proto = (proto or "tcp").lower()
    if proto not in PROTOCOLS:
        raise SyntaxProblem(f"invalid protocol in port {spec!r}")
    if ip:
        try:
            ipaddress.ip_address(ip.strip("[]"))
        except ValueError:
            raise SyntaxProblem(f"invalid IP address in port {spec!r}") from None
    if not container:
        raise SyntaxProblem(f"no container port in {spec!r}")
    first, last = _port_range(container)
    host_first = host_last = None
    if host:
        host_first, host_last = _port_range(host)
        if last - first != host_last - host_first and last != first:
            raise SyntaxProblem(f"the ranges of port {spec!r} differ in size")
    by_key = {}
    for i in range(last - first + 1):
        target = first + i
        if host_first is None:
            published = [0]
        elif first == last and host_first != host_last:  # one port, a host range
            published = list(range(host_first + i, host_last + 1))
        else:
            published = [host_first + i]
        by_key[f"{target}/{proto}"] = [(target, p) for p in published]
    entries = []
    # The CLI walks the ports it made in the order of their "80/tcp" keys,
    # compared as text ("100/tcp" before "99/tcp").
    for key in sorted(by_key):
        for target, published in by_key[key]:
            entry = {"mode": "ingress", "target": target}
            if published:
                entry["published"] = published
            entry["protocol"] = proto
            entries.append(entry)
    return entries


def volume(spec):
    """The long form of a short volume `spec` ("./data:/data:ro", ...)."""
    if not spec:
        raise SyntaxProblem("empty volume")
    if len(spec) <= 2:
        return {"type": "volume", "target": spec}
    out, buffer, options = {}, "", None

    def take(text, last):
        nonlocal options
        if not text:
            raise SyntaxProblem(f"{spec}: empty section between colons")
        if "source" not in out and last:
            out["target"] = text
        elif "source" not in out:
            out["source"] = text
        elif "target" not in out:
            out["target"] = text
        elif not last:
            raise SyntaxProblem(f"{spec}: too many colons")
        else:
            options = text

    for ch in spec:
        if ch == ":" and len(buffer) == 1 and buffer.isalpha():  # a Windows drive
            buffer += ch
        elif ch == ":":
            take(buffer, False)
            buffer = ""
        else:
            buffer += ch
    take(buffer, True)
    source = out.get("source", "")
    kind = "bind" if source and (source[0] in "./~" or source.startswith("\\\\")
                                 or (len(source) > 1 and source[0].isalpha()
                                     and source[1] == ":")) else "volume"
    result = {"type": kind}
    if source:
        result["source"] = source
    result["target"] = out["target"]
    for option in (options or "").split(","):
        if option == "ro":
            result["read_only"] = True
        elif option == "rw":
            result.pop("read_only", None)
        elif option == "nocopy":
            result["volume"] = {"nocopy": True}
        elif option in PROPAGATIONS:
            result["bind"] = {"propagation": option}
        # any other option (z, cached, ...) is dropped, as the CLI drops it
    return result
