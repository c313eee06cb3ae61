"""Each stack of the corpus resolves, by kargo, to the configuration the
docker CLI gives the same files the bash Kargo way: `docker stack config` of
kargo's stack file equals `docker stack config -c file -c extension -c
constraints ...` with the same `.env` exported, field by field. Offline: the
docker CLI loads and merges, no daemon is asked."""
import yaml
import pytest

from compose_support import (CORPUS, bash_files, bash_way, corpus_env, docker, kargo_file,
                             normalized, stacks)

ENV = corpus_env()


@pytest.mark.parametrize("stack", stacks(ENV), ids=lambda s: s.name)
def test_kargo_resolves_what_docker_reads(stack, tmp_path):
    path, _ = kargo_file(stack, ENV, tmp_path)
    # kargo's file holds no reference left to resolve: no environment at all
    kargo = yaml.safe_load(docker(["stack", "config", "-c", str(path)], cwd=tmp_path).stdout)
    bash = yaml.safe_load(bash_way(["stack", "config"], bash_files(stack, ENV, tmp_path)).stdout)
    assert normalized(kargo) == normalized(bash)


def test_the_corpus_covers_every_file():
    used = {f"deploy/{s}.yml" for stack in stacks(ENV) for s in stack.services}
    used |= {f"deploy/{ENV.get(v)}.yml" for v in ENV.names() if v.endswith("_EXTENSION")}
    assert used == {p.relative_to(CORPUS).as_posix() for p in CORPUS.glob("deploy/*.yml")}
