"""`encrypt`, `edit` and `rekey`: the operator's commands on the workspace's
encrypted files (operations/sealing.py). They need the workspace only, not its `.env`."""
from kargo_tasks.base.actions import failing, guarded
from kargo_tasks.base.errors import ConfigError
from kargo_tasks.operations.project import current
from kargo_tasks.operations.sealing import edit, encrypt, rekey
from kargo_tasks.workspace.layout import FIX


def _task(doc, action, pos_arg=None):
    project = current()
    if project.workspace is None:
        err = project.error or ConfigError("no workspace selected", hint=FIX)
        return {"doc": doc, "actions": [failing(err)]}
    task = {"doc": doc, "actions": [guarded(action, project)], "uptodate": [False],
            "verbosity": 2}
    if pos_arg:
        task["pos_arg"] = pos_arg
    return task


def task_encrypt():
    return _task("encrypt workspace files for .age-recipients: encrypt FILE... (FILE.age "
                 "replaces FILE)", encrypt, "files")


def task_edit():
    return _task("edit an encrypted workspace file in $EDITOR: edit FILE.age", edit, "files")


def task_rekey():
    return _task("encrypt every .age file of the workspace again for .age-recipients", rekey)
