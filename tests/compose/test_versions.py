"""The stack file kargo sends is valid for the version it declares: every
stack of the corpus, its files declaring each compose version 3.0 to 3.13 in
turn, resolves by kargo to a file the CLI's own loader (`docker stack
config`) accepts and reads as it reads the original files, wherever the CLI
accepts those at that version. kargo writes long-syntax volumes and ports
(3.2) and names file configs (3.5): it declares the version that needs."""
import re
import shutil

import pytest
import yaml

from compose_support import (CORPUS, bash_files, bash_way, corpus_env, docker, kargo_file,
                             normalized, stacks)

ENV = corpus_env()
VERSIONS = [f"3.{minor}" for minor in range(14)]
VERSION_LINE = re.compile(r'^version:.*\n', re.M)


def corpus_at(version, folder):
    root = folder / "corpus"
    shutil.copytree(CORPUS, root)
    for path in (root / "deploy").glob("*.yml"):
        text = VERSION_LINE.sub("", path.read_text(encoding="utf-8"))
        path.write_text(f'version: "{version}"\n{text}', encoding="utf-8")
    return root


@pytest.mark.parametrize("version", VERSIONS)
def test_each_version_loads_with_the_cli(version, tmp_path):
    root = corpus_at(version, tmp_path)
    accepted = []
    for stack in stacks(ENV):
        files = bash_files(stack, ENV, tmp_path, root=root)
        bash = bash_way(["stack", "config"], files, cwd=root, check=False)
        if bash.returncode:
            continue  # the CLI refuses the files at this version: nothing to match
        path, _ = kargo_file(stack, ENV, tmp_path, root=root)
        declared = yaml.safe_load(path.read_text(encoding="utf-8"))["version"]
        assert tuple(map(int, declared.split("."))) >= tuple(map(int, version.split(".")))
        kargo = docker(["stack", "config", "-c", str(path)], cwd=tmp_path, check=False)
        assert kargo.returncode == 0, f"{stack.name} at {version}: {kargo.stderr}"
        assert normalized(yaml.safe_load(kargo.stdout)) == normalized(yaml.safe_load(bash.stdout))
        accepted.append(stack.name)
    # not vacuous: the CLI takes the corpus's ports from 3.2, its configs from 3.3
    minor = int(version.split(".")[1])
    assert "envs" in accepted and "ignored" in accepted
    assert ("ports" in accepted) == (minor >= 2) and ("configs" in accepted) == (minor >= 3)
