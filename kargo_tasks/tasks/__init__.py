"""The doit task graph: the task creators (one sub-task per stack or image, a
one-line doc each), doit's configuration (config) and what a run prints
(report). They only build task dicts from the loaded project: no file is read
here beyond what `project.current()` loads, and a creator never runs anything
itself: the actions it names do, when doit runs them."""
from .configure import task__configure, task_configure
from .images import task_build, task_import
from .info import task_show, task_use
from .logs import task_logs
from .operations import task_exec, task_pull
from .sealed import task_edit, task_encrypt, task_rekey
from .stacks import (
                     task__stack,
                     task_deploy,
                     task_labels,
                     task_redeploy,
                     task_remove,
                     task_rollback,
                     task_rerun,
                     task_update,
)

__all__ = ["task_use", "task_show", "task_configure", "task__configure", "task__stack",
           "task_deploy", "task_remove", "task_update", "task_redeploy", "task_rollback",
           "task_rerun", "task_labels", "task_logs",
           "task_build", "task_import", "task_pull", "task_exec",
           "task_encrypt", "task_edit", "task_rekey"]
