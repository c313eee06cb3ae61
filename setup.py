"""The wheel carries `defaults/` and `images/` as package data
(kargo_tasks/data/): an installed `kargo` has the default configuration and
the Dockerfiles without a checkout (workspace.py finds them there). Everything
else is in pyproject.toml."""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


class BuildPy(build_py):
    def run(self):
        super().run()
        for name in ("defaults", "images"):
            target = Path(self.build_lib) / "kargo_tasks" / "data" / name
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(HERE / name, target)


setup(cmdclass={"build_py": BuildPy})
