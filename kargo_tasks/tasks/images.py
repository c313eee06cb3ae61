"""Image tasks: `build:<image>` per image of the catalog, `import:<image>`."""
import functools

from ..actions import failing, guarded
from ..environment import prefix
from ..images import build_image, current, import_image
from ..project import current as current_project
from ..project import digest_key


def _context_files(project, image):
    return [str(project.layout.merged / out) for out in project.plan
            if out.startswith(image.context + "/")]


def task_build():
    """Build the images whose inputs changed, and push them (build:<image> for one)."""
    project = current_project()
    if project.error:
        yield {"name": "all", "actions": [failing(project.error)], "doc": "build images"}
        return
    key_of = functools.partial(digest_key, project.layout)
    for image in project.catalog.images.values():
        yield {
            "name": image.name,
            "doc": f"build and push image {image.name} from .kargo/{image.context}",
            "actions": [guarded(build_image, project, image, key_of)],
            "file_dep": _context_files(project, image),
            "task_dep": ["_configure"],
            "uptodate": [current(project, image.prefix, key_of)],
            "verbosity": 2,
        }


def task_import():
    """Load images from <IMAGE>_ARCHIVE for air-gapped sites (import:<image> for one)."""
    project = current_project()
    if project.error:
        yield {"name": "all", "actions": [failing(project.error)], "doc": "import images"}
        return
    key_of = functools.partial(digest_key, project.layout)
    names = set(project.catalog.images) | {
        name[: -len("_ARCHIVE")].lower().replace("_", "-") for name in project.env.names()
        if name.endswith("_ARCHIVE") and project.env.origins.get(name) != "shell"}
    for name in sorted(names):
        yield {
            "name": name,
            "doc": f"load image {name} from {prefix(name)}_ARCHIVE, tag and push it",
            "actions": [guarded(import_image, project, name, key_of)],
            "uptodate": [current(project, prefix(name), key_of)],
            "verbosity": 2,
        }
