"""Rendering one output of the merged configuration from its source.

`copy` outputs are the source bytes; `subst` (`.tpl`) replaces `${VAR}`;
`jinja` (`.j2`) renders with a sandboxed Jinja2 whose undefined names are
errors. Each render returns the bytes and the set of variables it read, which
is what makes the output stale (and nothing else in the environment).
"""
import os
import re
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path

from kargo_tasks.base.errors import ConfigError, KargoError

from . import masking, sealed
from .environment import Environment
from .interpolate import substitute
from .merge import Source

YAML_SUFFIXES = (".yml", ".yaml")
COMPOSE_FILE = re.compile(r"^deploy/[^/]+\.ya?ml$")


def render(source: Source, out: str, env: Environment) -> tuple[bytes, set[str]]:
    """(bytes, variables read) for output path `out` made from `source`."""
    where = str(source.path)
    try:
        raw = sealed.read_source(source.path)  # `X.age`: decrypted in memory
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", where=where)
    reads: set[str] = set()
    if source.kind == "copy":
        data = raw
    else:
        data = _text(_decode(raw, where), source.kind, env, where, reads).encode("utf-8")
    # Compose files are read as Docker reads them (not as PyYAML does) when
    # the stacks that use them resolve: an error there is those stacks' own.
    if out.endswith(YAML_SUFFIXES) and not COMPOSE_FILE.match(out):
        check_yaml(data, where)
    return data, reads


def marked(source, env, public):
    """The text of the template `source` rendered again with every value
    that lands in it between masking's markers, but for the values of
    variables `public(name)` accepts (masking.py: which spans to hide)."""
    where = str(source.path)
    try:
        raw = sealed.read_source(source.path)  # `X.age`: decrypted in memory
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", where=where)
    return _text(_decode(raw, where), source.kind, env, where, set(), public)


def labeler(overlay: Mapping[str, Source], merged: str | Path,
            env: Environment) -> Callable[[str], str]:
    """`path -> label` for the config files of a stack resolved from the
    merged configuration `merged` (`overlay`: merge.overlay's outputs)."""
    merged = os.path.normpath(merged)
    shown = masking.public(env)

    def label(path):
        try:
            rel = Path(os.path.normpath(path)).relative_to(merged).as_posix()
        except ValueError:
            return masking.ALL  # not a file of the merged configuration: unknown
        source = overlay.get(rel)
        if rel.split("/", 1)[0] == "secrets" or source is None or sealed.is_sealed(source.path):
            return masking.ALL
        if source.kind == "copy":
            return masking.NONE
        try:
            text = sealed.read_merged(Path(merged) / rel).decode("utf-8")
            return masking.encode(masking.spans_of(text, marked(source, env, shown)))
        except (OSError, UnicodeDecodeError, KargoError):
            return masking.ALL
    return label


def _text(text, kind, env, where, reads, public=None):
    try:
        if kind == "subst":
            mark = None if public is None else (
                lambda name, value: value if public(name) else masking.mark(value))
            return substitute(text, env.get, where=where, reads=reads, mark=mark)
        return _jinja(text, env, where, reads, public)
    except ConfigError as err:
        # a message may quote what the template computed (`${A:?${B}}`, a
        # missing key `{{ map[PASSWORD] }}`): not the values it read
        shown = masking.public(env)
        hidden = [env.get(name) for name in reads if name in env and not shown(name)]
        raise ConfigError(masking.hide(err.args[0], hidden), where=err.where,
                          hint=err.hint) from None


def _decode(raw, where):
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"template is not UTF-8 text (byte {exc.start})", where=where)


def check_yaml(data, where):
    import yaml
    try:
        # Parse only, every document: safe_load refuses a valid multi-document
        # file, custom tags (`!Ref`), and lets a bad date escape as ValueError.
        for _ in yaml.compose_all(data, Loader=yaml.SafeLoader):
            pass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise ConfigError(f"not valid YAML: {problem}", where=where + line)


def _jinja(text, env, where, reads, public=None):
    import jinja2
    from jinja2 import meta
    from jinja2.sandbox import SandboxedEnvironment, SecurityError

    jenv = SandboxedEnvironment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                                autoescape=False)
    try:
        ast = jenv.parse(text, filename=where)
        # This compiles the template: an unknown filter or test fails here.
        reads.update(meta.find_undeclared_variables(ast))
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigError(f"template syntax error: {exc.message}", where=f"{where}:{exc.lineno}")
    context = {name: env.get(name) for name in reads if name in env}
    if public is not None:
        _mark_outputs(ast, public)
    try:
        template = jenv.from_string(text if public is None else ast)
        template.filename = where  # jinja2 only sets it from a loader
        return template.render(context)
    except SecurityError as exc:
        raise ConfigError(f"template refused by the sandbox: {exc}",
                          where=f"{where}:{_template_line(exc, where)}")
    except jinja2.UndefinedError as exc:
        raise ConfigError(f"undefined in template: {exc.message}",
                          where=f"{where}:{_template_line(exc, where)}")
    except jinja2.TemplateError as exc:
        raise ConfigError(f"template error: {exc}", where=f"{where}:{_template_line(exc, where)}")
    except Exception as exc:
        # Python errors raised by the template's own expressions (`1/0`, the
        # sandbox's range limit, ...) are the operator's to fix too. Name only
        # the type: their messages may quote a value (`'{s3cr3t}'.format()`).
        raise ConfigError(f"template failed: {type(exc).__name__}",
                          where=f"{where}:{_template_line(exc, where)}")


def _mark_outputs(ast, public):
    """Wrap, in masking's markers, every `{{ ... }}` whose value may derive
    from a variable that is not public: one that names anything but public
    variables (a loop or `set` variable, a macro, `self`, ... included) and
    constants. The markers are added after the template's own filters (a
    `tojson` value is marked escaped and whole); conditions and loops are
    untouched, so the text between the markers is the plain rendering's."""
    from jinja2 import nodes
    assigned = {n.name for n in ast.find_all(nodes.Name) if n.ctx in ("store", "param")}
    opaque = (nodes.ContextReference, nodes.DerivedContextReference, nodes.InternalName,
              nodes.ImportedName)

    def shown(expr):
        for node in (expr, *expr.find_all(nodes.Node)):
            if isinstance(node, opaque) or (isinstance(node, nodes.Name) and (
                    node.name in assigned or not public(node.name))):
                return False
        return True

    for output in ast.find_all(nodes.Output):
        output.nodes = [
            child if isinstance(child, nodes.TemplateData) or shown(child)
            else nodes.Concat([nodes.Const(masking.OPEN), child, nodes.Const(masking.CLOSE)],
                              lineno=child.lineno)
            for child in output.nodes]


def _template_line(exc, where):
    """The template line an exception came from (Jinja rewrites tracebacks
    so template frames carry the template's name)."""
    lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if f.filename == where]
    return lines[-1] if lines else "?"
