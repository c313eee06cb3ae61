"""Where things are: the repo root, the chosen workspace, the merged configuration.

The workspace is chosen with `kargo use --workspace DIR` (recorded in
`.workspace` at the repo root) and `KARGO_WORKSPACE` overrides it.
"""
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError

# The repo checkout this package runs from; KARGO_ROOT points kargo at another
# checkout's defaults/, images/ and .kargo/ (the tests use it for isolation).
ROOT = Path(os.environ.get("KARGO_ROOT") or Path(__file__).resolve().parent.parent)
RECORD = ".workspace"
FIX = "choose one with `kargo use --workspace DIR` or set KARGO_WORKSPACE"


@dataclass(frozen=True)
class Layout:
    """The fixed places of one repo checkout."""
    root: Path

    @property
    def defaults(self):
        return self.root / "defaults"

    @property
    def images(self):
        return self.root / "images"

    @property
    def merged(self):
        """The merged configuration `.kargo/`: everything is built from it."""
        return self.root / ".kargo"

    @property
    def state(self):
        """kargo's own bookkeeping (doit database, run lock, digest key)."""
        return self.merged / ".state"

    @property
    def stacks(self):
        return self.merged / "stacks"

    @property
    def record(self):
        return self.root / RECORD


def layout(root=None):
    return Layout(Path(root) if root else ROOT)


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


def resolve(lay, environ=None):
    """The checked workspace, or None when none is chosen yet."""
    environ = os.environ if environ is None else environ
    path = chosen(lay, environ)
    if path is None:
        return None
    origin = "KARGO_WORKSPACE" if environ.get("KARGO_WORKSPACE", "").strip() else str(lay.record)
    return check(path, origin=origin)


def record(lay, path):
    """Remember `path` as the workspace (action of `use`)."""
    target = check(Path(path).expanduser(), origin="use --workspace")
    from .files import write_atomic
    write_atomic(lay.record, (str(target) + "\n").encode())
    return target
