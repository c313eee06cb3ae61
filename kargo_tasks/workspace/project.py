"""The project: everything the task creators read, loaded once per run
(operations/project.py loads it): the layout, the workspace chosen, the
environment, the overlay, the catalog, and the error that stopped the load."""
import functools
from dataclasses import dataclass, field
from pathlib import Path

from kargo_tasks.base.errors import ConfigError, KargoError

from . import catalog as catalog_mod
from . import environment
from . import layout as workspace_mod
from .catalog import files_of


@dataclass(eq=False)
class Project:
    layout: workspace_mod.Layout
    workspace: Path | None = None
    # None only when `error` says why: no task that reads them runs then
    env: environment.Environment = None  # type: ignore[assignment]
    overlay: dict = field(default_factory=dict)
    catalog: catalog_mod.Catalog = None  # type: ignore[assignment]
    error: KargoError | None = None
    shell: dict | None = None         # the environment it was loaded with (os.environ)

    def relative(self, path):
        """`path` as the operator knows it: in the workspace, defaults or repo."""
        for base, name in ((self.workspace, "workspace"), (self.layout.root, None)):
            if base is None:
                continue
            try:
                rel = Path(path).relative_to(base)
            except ValueError:
                continue
            return f"{rel} ({name})" if name else str(rel)
        return str(path)

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
