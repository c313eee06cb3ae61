"""Actions of `use` and `show`: what an operator reads on the console.

`show` lists names only: stacks, services, images, scripts; never values."""
from . import workspace as workspace_mod
from .errors import ConfigError


def use(project, workspace=""):
    if not workspace:
        raise ConfigError("give the folder: kargo use --workspace DIR")
    path = workspace_mod.record(project.layout, workspace)
    print(f"workspace: {path} (recorded in {project.layout.record})")


def _engine():
    """Which engine this run talks to, and why (it is not asked anything)."""
    from . import engine
    from .errors import KargoError
    try:
        return engine.describe()
    except KargoError as err:
        return f"none: {err}"


def describe(project):
    lay = project.layout
    print(f"workspace: {project.workspace or 'none selected (' + workspace_mod.FIX + ')'}")
    if project.error:
        raise project.error
    print(f"merged configuration: {lay.merged}")
    print(f"engine: {_engine()}")
    print("stacks (deploy order):")
    for stack in project.catalog.stacks.values():
        after = f"  [after {', '.join(stack.depends)}]" if stack.depends else ""
        print(f"  {stack.name}: {' '.join(stack.services)}{after}")
    print("images:")
    for image in project.catalog.images.values():
        print(f"  {image.name}  ({image.context})")
    scripts = [out for out in project.plan if out.endswith(".sh")]
    print("scripts:")
    for out in scripts:
        print(f"  {out}")
