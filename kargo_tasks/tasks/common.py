"""What every task creator shares: one sub-task per stack or image, or a
single failing task when the operator's input cannot be loaded."""
from ..actions import failing
from ..project import current


def each(items_of, make, doc):
    """Yield `make(project, item)` for each item of `items_of(project)`.

    Without a workspace the default stacks are still listed; running one
    fails in `_configure`, which every such task reaches first."""
    project = current()
    if project.error:
        yield {"name": "all", "actions": [failing(project.error)], "doc": doc}
        return
    for item in items_of(project):
        yield make(project, item)


def stacks(project):
    return list(project.catalog.stacks.values())
