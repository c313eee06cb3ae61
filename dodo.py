"""kargo's doit entry: `doit list`, `doit configure`, `doit deploy:kano`, ...

Thin on purpose: the tasks live in kargo_tasks; `kargo` runs the same ones.
"""
import sys

from kargo_tasks.tasks import *  # noqa: F401,F403
from kargo_tasks.tasks.config import DOIT_CONFIG, start  # noqa: F401

start(sys.argv[1:])
