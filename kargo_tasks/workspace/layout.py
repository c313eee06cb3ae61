"""Where things are: kargo's root (where `.kargo/` and `.workspace` live), the
defaults and images it overlays, the chosen workspace.

The root is KARGO_ROOT when set; else the checkout this code runs from (a
`dodo.py` beside `kargo_tasks/`: `doit` in a checkout works on that
checkout); else, for an installed `kargo`, the current folder. `defaults/` and
`images/` are the root's when it has them, else the ones the package ships.
The workspace is chosen with `kargo use --workspace DIR` (recorded in
`.workspace` at the root) and `KARGO_WORKSPACE` overrides it.

Each workspace has its own merged configuration and state under the root's
`.kargo/`: `.kargo/<name>-<8 hex digits>/` (its folder's name and a digest
of its resolved path: `workspace_key`), `.kargo/no-workspace/` while none
is chosen. So one checkout keeps several platforms side by side, each with
its doit database, run lock and records, and `use` only switches which one
a run works on. A `.kargo/` of the kargo before (its merged files and
`.state/` right in it) becomes the folder of the workspace in use at the
first run (`Layout.make_state`).
"""
import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from kargo_tasks.base.errors import ConfigError

PACKAGE = Path(__file__).resolve().parent.parent
RECORD = ".workspace"
NO_WORKSPACE = "no-workspace"
FIX = "choose one with `kargo use --workspace DIR` or set KARGO_WORKSPACE"


@dataclass(frozen=True)
class Layout:
    """The fixed places of one kargo root."""
    root: Path
    # None: the root's (a Path once made: __post_init__)
    defaults: Path = None  # type: ignore[assignment]
    images: Path = None  # type: ignore[assignment]
    chosen_by: str = "given"   # why this root: KARGO_ROOT, the checkout, the current folder
    key: str = NO_WORKSPACE    # the workspace's folder under .kargo/ (workspace_key)

    def __post_init__(self):
        for name in ("defaults", "images"):
            if getattr(self, name) is None:
                object.__setattr__(self, name, Path(self.root) / name)

    @property
    def top(self) -> Path:
        """`.kargo/` at the root: one folder per workspace in it."""
        return self.root / ".kargo"

    @property
    def merged(self):
        """The workspace's merged configuration `.kargo/<key>/`: everything
        is built from it."""
        return self.top / self.key

    @property
    def state(self):
        """kargo's own bookkeeping (doit database, run lock, digest key)."""
        return self.merged / ".state"

    @property
    def stacks(self):
        return self.merged / "stacks"

    def make_state(self) -> Path:
        """`.kargo/` and `.kargo/.state/` made (owner-only) when they are not:
        the one way kargo creates them. The state folder."""
        from kargo_tasks.base.files import ensure_dir
        if self.key != NO_WORKSPACE and (self.top / ".state").is_dir():
            self._upgrade()
        ensure_dir(self.top)  # owner-only too, whoever made it
        ensure_dir(self.merged)
        ensure_dir(self.state)
        return self.state

    def _upgrade(self) -> None:
        """The single `.kargo/` of the kargo before workspaces had their own
        becomes the folder of the workspace in use: its entries are moved
        (renamed, on one file system) into `.kargo/<key>/`, `.state/` last,
        so a run cut off half way is completed by the next. The doit
        database, the stacks' records and their history are kept, and every
        task finds its files where it now looks: nothing is rebuilt."""
        from kargo_tasks.base.files import ensure_dir
        ensure_dir(self.merged)
        for entry in sorted(self.top.iterdir(), key=lambda e: e.name == ".state"):
            if entry == self.merged or (entry / ".state").is_dir():
                continue  # the workspace's own folder, or another workspace's
            try:
                os.rename(entry, self.merged / entry.name)
            except FileNotFoundError:
                pass  # another run moved it
            except OSError:
                continue  # taken already in the workspace's folder: left where it is

    @property
    def record(self):
        return self.root / RECORD


def checkout():
    """The checkout this code runs from, or None for an installed package."""
    folder = PACKAGE.parent
    return folder if (folder / "dodo.py").is_file() else None


def layout(root: str | Path | None = None,
           environ: Mapping[str, str] | None = None) -> Layout:
    environ = os.environ if environ is None else environ
    if root:
        base, chosen_by = Path(root), "given"
    elif environ.get("KARGO_ROOT"):
        base, chosen_by = Path(environ["KARGO_ROOT"]), "KARGO_ROOT"
    elif checkout():
        base, chosen_by = checkout(), "the checkout of this code"
    else:
        base, chosen_by = Path.cwd(), "the current folder (set KARGO_ROOT to choose another)"
    key = workspace_key(chosen(Layout(base), environ))
    return Layout(base, _own_or_shipped(base, "defaults"), _own_or_shipped(base, "images"),
                  chosen_by, key)


def workspace_key(path: Path | None) -> str:
    """The folder of `.kargo/` holding the merged configuration and state of
    the workspace `path`: its folder's name (for the operator's eye) and
    the first 8 hex digits of the SHA-256 of its resolved path (two
    workspaces of one name, `a/staging` and `b/staging`, stay apart). The
    same workspace named by another path (relative, through a symbolic
    link) is the same folder."""
    if path is None:
        return NO_WORKSPACE
    resolved = path.resolve()
    name = re.sub(r"[^A-Za-z0-9._-]", "_", resolved.name).lstrip(".") or "workspace"
    return f"{name}-{hashlib.sha256(str(resolved).encode()).hexdigest()[:8]}"


def _own_or_shipped(base, name):
    own = base / name
    return own if own.is_dir() else PACKAGE / "data" / name


def chosen(lay, environ=None):
    """The workspace path the operator chose, or None; not checked."""
    environ = os.environ if environ is None else environ
    value = environ.get("KARGO_WORKSPACE", "").strip()
    if value:
        return Path(value).expanduser()
    try:
        value = lay.record.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return Path(value) if value else None


def check(path, *, origin):
    """Return the workspace folder resolved, or raise a one-line error."""
    if not path.exists():
        raise ConfigError(f"workspace {path} does not exist", where=origin, hint=FIX)
    if not path.is_dir():
        raise ConfigError(f"workspace {path} is not a folder", where=origin, hint=FIX)
    return path.resolve()


def resolve(lay: Layout, environ: Mapping[str, str] | None = None) -> Path | None:
    """The checked workspace, or None when none is chosen yet."""
    environ = os.environ if environ is None else environ
    path = chosen(lay, environ)
    if path is None:
        return None
    origin = "KARGO_WORKSPACE" if environ.get("KARGO_WORKSPACE", "").strip() else str(lay.record)
    return check(path, origin=origin)


def record(lay: Layout, path: str | Path) -> Path:
    """Remember `path` as the workspace (action of `use`)."""
    target = check(Path(path).expanduser(), origin="use --workspace")
    from kargo_tasks.base.files import write_atomic
    write_atomic(lay.record, (str(target) + "\n").encode())
    return target
