"""Image tasks: `build:<image>` per image of the catalog, `import:<image>`."""
import functools

from kargo_tasks.base.actions import guarded
from kargo_tasks.deploy.images import build_image, current, import_image
from kargo_tasks.operations.project import current as current_project
from kargo_tasks.operations.project import digest_key
from kargo_tasks.workspace.catalog import used_images
from kargo_tasks.workspace.environment import prefix

from .common import each


def _context_files(project, image):
    return [str(project.layout.merged / out) for out in project.overlay
            if out.startswith(image.context + "/")]


def task_build():
    """Build the images the stacks of STACKS run, when their inputs changed, and push them
    (build:<image> for one, any image)."""
    def make(project, image):
        key_of = functools.partial(digest_key, project.layout)
        return {
            "name": image.name,
            "doc": f"build and push image {image.name} from .kargo/{image.context}",
            "actions": [guarded(build_image, project, image, key_of)],
            "file_dep": _context_files(project, image),
            "task_dep": ["_configure"],
            "uptodate": [current(project, image.prefix, key_of)],
            "verbosity": 2,
        }
    project = current_project()
    if project.error:  # stand-ins that say the error
        yield from each(lambda project: project.catalog.images.values(), make, "build images",
                        "build")
        return
    # `build` is the group of the images a stack runs; an image no stack
    # runs (a Weacast loader of a platform without Weacast, whose sources
    # may not even be reachable) is a task of its own, `build:<image>`,
    # listed like the others and run only when named.
    used = set(used_images(project.catalog, project.env))
    yield {"name": None, "doc": "build and push the images the stacks of STACKS run"}
    for image in project.catalog.images.values():
        task = make(project, image)
        if image.name not in used:
            task["basename"] = f"build:{task.pop('name')}"
            task["doc"] += " (no stack runs it: built only when named)"
        yield task


def _importable(project):
    """The images kargo builds, and any other named by an `<IMAGE>_ARCHIVE`."""
    named = {var[: -len("_ARCHIVE")].lower().replace("_", "-") for var in project.env.names()
             if var.endswith("_ARCHIVE") and project.env.origins.get(var) != "shell"}
    return sorted(set(project.catalog.images) | named)


def task_import():
    """Load images from <IMAGE>_ARCHIVE for air-gapped sites (import:<image> for one)."""
    def make(project, name):
        key_of = functools.partial(digest_key, project.layout)
        return {
            "name": name,
            "doc": f"load image {name} from {prefix(name)}_ARCHIVE, tag and push it",
            "actions": [guarded(import_image, project, name, key_of)],
            "uptodate": [current(project, prefix(name), key_of)],
            "verbosity": 2,
        }
    yield from each(_importable, make, "import images", "import")
