"""The overlay: which source file makes each file of `.kargo/`.

Layers, later wins: `defaults/` (at the top of `.kargo/`), `images/` (under
`images/`), then each workspace the chosen one extends, the farthest first
(chain.py), then the workspace (same relative paths). `NAME.j2` and
`NAME.tpl` are templates that render into `NAME`. The overlay is computed from
directory listings only, so it is cheap enough to do on every doit load.
"""
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from kargo_tasks.base.errors import ConfigError

from . import sealed
from .chain import Base
from .layout import Layout

TEMPLATE_KINDS = {".j2": "jinja", ".tpl": "subst"}
# Top of .kargo/ that kargo writes itself: no overlay may land there.
RESERVED = ("stacks", ".state")


@dataclass(frozen=True)
class Source:
    path: Path   # the file to read
    kind: str    # "copy", "jinja" or "subst"
    layer: str   # "defaults", "images", "base <path from the workspace>" or "workspace"


@dataclass(frozen=True)
class Layer:
    name: str
    root: Path
    under: str = ""            # where its files land inside .kargo/
    skip: tuple = ()           # top-level names that are not overlay files
    # folders of other layers inside this one (a base kept in the workspace,
    # a workspace inside its base): their files are theirs
    apart: tuple[Path, ...] = ()


def layers(lay: Layout, workspace: Path | None, bases: Sequence[Base] = ()) -> list[Layer]:
    """The layers, later wins: `bases` are the workspaces `workspace`
    extends, the farthest first (chain.bases)."""
    found = [Layer("defaults", lay.defaults, "", (".env.default", "README.md")),
             Layer("images", lay.images, "images", ("README.md",))]
    if workspace is not None:
        chain = [(f"base {base.name}", base.path) for base in bases] + [("workspace", workspace)]
        for name, root in chain:
            apart = tuple(other for _, other in chain
                          if other != root and other.is_relative_to(root))
            found.append(Layer(name, root, "", (".env",), apart))
    return found


def output_of(rel):
    """(output path, kind) of a source path relative to its layer."""
    name = rel.rsplit("/", 1)[-1]
    for suffix, kind in TEMPLATE_KINDS.items():
        # The file name, not the path, must be longer than the suffix:
        # `configs/.tpl` would otherwise render into the folder `configs/`.
        if name.endswith(suffix) and len(name) > len(suffix):
            return rel[: -len(suffix)], kind
    return rel, "copy"


def overlay(layer_list: Iterable[Layer]) -> dict[str, Source]:
    """{output path (posix, relative to .kargo/): Source}, workspace winning."""
    result = {}
    for layer in layer_list:
        mine: dict[str, Source] = {}
        for rel, path in walk(layer):
            # `X.age` (sealed.py) takes the place of `X`, template or not
            out, kind = output_of(sealed.unsealed_name(rel))
            if layer.under:
                out = f"{layer.under}/{out}"
            if out.split("/", 1)[0] in RESERVED:
                raise ConfigError(f"{out.split('/', 1)[0]}/ is reserved for kargo's own files",
                                  where=str(path))
            if sealed.is_sealed(rel) and sealed.refused(out):
                raise ConfigError(sealed.refused(out), where=str(path))
            if out in mine:
                raise ConfigError(f"both {mine[out].path.name} and {path.name} make {out}",
                                  where=str(path.parent))
            mine[out] = Source(path, kind, layer.name)
        result.update(mine)
    return dict(sorted(result.items()))


def walk(layer):
    """(posix path relative to the layer, path) of each file, refusing links
    that leave the layer's folder."""
    root = layer.root
    if not root.is_dir():
        return
    real_root = os.path.realpath(root)
    for top, dirs, files in os.walk(root, followlinks=True):
        top_path = Path(top)
        rel_top = top_path.relative_to(root)
        if rel_top == Path("."):
            # Hidden folders are not overlay files, but a reserved one (`.state`)
            # is kept so that overlay() refuses it instead of silently ignoring it.
            dirs[:] = [d for d in dirs
                       if (not d.startswith(".") or (not layer.under and d in RESERVED))
                       and d not in layer.skip]
            files = [f for f in files if not f.startswith(".") and f not in layer.skip]
        else:
            dirs[:] = [d for d in dirs if d != ".git"]
            # a submodule's `.git` is a file naming its git data: git's, not the operator's
            files = [f for f in files if f != ".git"]
        if layer.apart:
            dirs[:] = [d for d in dirs if top_path / d not in layer.apart]
        for name in list(dirs):
            _check_inside(top_path / name, real_root, root)
            _check_no_loop(top_path / name, root)
        dirs.sort()
        for name in sorted(files):
            path = top_path / name
            if name.startswith(".") and name.endswith(".tmp"):
                continue
            _check_inside(path, real_root, root)
            if not path.exists():
                raise ConfigError("broken symbolic link", where=str(path))
            yield PurePosixPath(rel_top / name).as_posix(), path


def _check_no_loop(path, root):
    # os.walk follows links without noticing cycles: a link to a folder the
    # walk is already inside (directly or through other links) would be
    # walked again and again until the path is too long to open.
    if not path.is_symlink():
        return
    target = os.path.realpath(path)
    here = path.parent
    while True:
        if os.path.commonpath([target, os.path.realpath(here)]) == target:
            raise ConfigError("symbolic link to a folder that contains it (a loop)",
                              where=str(path))
        if here == root:
            return
        here = here.parent


def _check_inside(path, real_root, root):
    if path.is_symlink():
        target = os.path.realpath(path)
        if os.path.commonpath([target, real_root]) != real_root:
            raise ConfigError(f"symbolic link points outside {root}", where=str(path))
