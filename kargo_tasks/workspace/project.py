"""The project: everything the task creators read, loaded once per run
(operations/project.py loads it): the layout, the workspace chosen and the
workspaces it extends, the environment, the overlay, the catalog, and the
error that stopped the load."""
import functools
from dataclasses import dataclass, field
from pathlib import Path

from kargo_tasks.base.errors import ConfigError, KargoError

from . import catalog as catalog_mod
from . import environment, sealed
from . import layout as workspace_mod
from .catalog import files_of
from .chain import Base


@dataclass(eq=False)
class Project:
    layout: workspace_mod.Layout
    workspace: Path | None = None
    bases: tuple[Base, ...] = ()      # the workspaces it extends, the farthest first (chain.py)
    # None only when `error` says why: no task that reads them runs then
    env: environment.Environment = None  # type: ignore[assignment]
    overlay: dict = field(default_factory=dict)
    catalog: catalog_mod.Catalog = None  # type: ignore[assignment]
    error: KargoError | None = None
    shell: dict | None = None         # the environment it was loaded with (os.environ)

    def _folder_of(self, path):
        """(folder, layer name, Base or None) of the workspace or base `path`
        is in, the deepest first (a base may be kept inside the workspace, or
        hold it), else None."""
        folders = [(base.path, f"base {base.name}", base) for base in self.bases]
        if self.workspace:
            folders.append((self.workspace, "workspace", None))
        inside = [f for f in folders if Path(path).is_relative_to(f[0])]
        return max(inside, key=lambda f: len(f[0].parts), default=None)

    def relative(self, path: str | Path) -> str:
        """`path` as the operator knows it, naming its layer: `configs/a.conf
        (workspace)`, `configs/a.conf (base ../base)`, `defaults/...`."""
        found = self._folder_of(path)
        if found:
            return f"{Path(path).relative_to(found[0])} ({found[1]})"
        try:
            return str(Path(path).relative_to(self.layout.root))
        except ValueError:
            return str(path)

    def base_of(self, path: str | Path) -> Base | None:
        """The base workspace a file is in (None: not in a base)."""
        found = self._folder_of(path)
        return found[2] if found else None

    def sealing_folder(self) -> Path | None:
        """Whose `.age-recipients` what kargo encrypts into `.kargo/` is for
        (sealed.sealing_folder: the workspace's, else the nearest base's)."""
        return sealed.sealing_folder(self.workspace, self.bases)

    def variable_changed(self, name: str) -> str:
        """`variable NAME changed (<where it is set now>)`, naming the layer
        (never the value): `(workspace .env:3)`, `(base ../base .env:2)`,
        `(defaults/.env.default:5)`, `(shell)`, `(now unset)`; and the other
        env files its value is made from (the variables it refers to):
        `(defaults/.env.default:6, made with base ../base .env)`."""
        origin = self.env.origins.get(name) if self.env else None
        if origin is None or origin == "shell":
            return f"variable {name} changed ({'shell' if origin else 'now unset'})"
        path, line = origin.rsplit(":", 1)
        others = sorted(self._env_file(f) for f in self.env.made_from.get(name, ()) if f != path)
        made = f", made with {', '.join(others)}" if others else ""
        return f"variable {name} changed ({self._env_file(path)}:{line}{made})"

    def _env_file(self, path):
        """An env file as `plan` names it: `workspace .env`, `base ../base
        .env.age`, `defaults/.env.default`."""
        found = self._folder_of(path)
        return f"{found[1]} {Path(path).relative_to(found[0])}" if found else self.relative(path)

    @functools.lru_cache(maxsize=None)
    def compose_files(self):
        """The compose files of the merged configuration the stacks use: their
        services' files and the extensions `<SERVICE>_EXTENSION` names."""
        return frozenset(rel for stack in (self.catalog.stacks.values() if self.catalog else ())
                         for rel, _ in files_of(stack, self.env))

    def shown(self, text):
        """`text` with paths of merged copies replaced by the file the operator
        edits (the same lines): errors and warnings about compose files."""
        merged = f"{self.layout.merged}/"
        if merged not in text:
            return text
        for out, source in self.overlay.items():
            if source.kind == "copy" and f"{merged}{out}" in text:
                text = text.replace(f"{merged}{out}", str(source.path))
        return text

    def require(self):
        """Raise the load error, or the lack of a workspace."""
        if self.error:
            raise self.error
        if self.workspace is None:
            raise ConfigError("no workspace selected", hint=workspace_mod.FIX)
