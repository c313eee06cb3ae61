"""Docker's own test vectors (upstream_vectors.py): every row gives
upstream's answer, or is a refusal the README documents."""
import re
from pathlib import Path

import pytest

from kargo_tasks.base.errors import ConfigError
from kargo_tasks.compose import dockeryaml
from kargo_tasks.workspace import environment
from kargo_tasks.workspace.interpolate import substitute
from compose_support import Refused as Refusal, both_ways
from upstream_vectors import (CLI_MAPPING, CLI_TEMPLATES, COMPOSE_GO_MAPPING, COMPOSE_GO_TEMPLATES,
                              DOTENV, FOUND, GO_YAML_DECODE, JOHO, LOADER, Error, Follows,
                              Refused)

README = re.sub(r"\s+", " ", (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8"))


def ids(rows):
    return [f"{r.test}: {getattr(r, 'text', '')[:40]!r}" for r in rows]


def outcome(run, expect):
    """Check `run()` against a row's expectation."""
    if isinstance(expect, Refused):
        assert expect.readme in README, f"the README does not say: {expect.readme}"
    if isinstance(expect, (Error, Refused)):
        with pytest.raises(ConfigError) as info:
            run()
        message = str(info.value)
        assert "\n" not in message and "Traceback" not in message
        if isinstance(expect, Error):
            assert expect.words in message
        return None
    return run()


@pytest.mark.parametrize("row", CLI_TEMPLATES, ids=ids(CLI_TEMPLATES))
def test_docker_cli_templates(row):
    # compose files: read as docker/cli's loader reads them
    got = outcome(lambda: substitute(row.text, CLI_MAPPING.get, where="f.yml", lone="error",
                                     args="literal"), row.expect)
    if got is not None:
        assert got == row.expect


@pytest.mark.parametrize("row", COMPOSE_GO_TEMPLATES, ids=ids(COMPOSE_GO_TEMPLATES))
def test_compose_go_templates(row):
    # `.env` values and .tpl templates: read as compose-go reads them
    got = outcome(lambda: substitute(row.text, COMPOSE_GO_MAPPING.get, where=".env"), row.expect)
    if got is not None:
        assert got == row.expect


@pytest.mark.parametrize("row", DOTENV + JOHO, ids=ids(DOTENV + JOHO))
def test_dotenv(row, tmp_path):
    path = tmp_path / ".env"
    path.write_text(row.text, encoding="utf-8")
    expect = row.expect
    if isinstance(expect, Follows):  # compose-go's answer, on purpose
        assert expect.readme in README
        expect = Error("") if expect.value is None else expect.value
    got = outcome(lambda: environment.load([path], dict(row.shell)), expect)
    if got is not None:
        assert {name: got.get(name) for name in expect} == expect


@pytest.mark.parametrize("row", GO_YAML_DECODE, ids=ids(GO_YAML_DECODE))
def test_go_yaml_decode(row):
    got = outcome(lambda: dockeryaml.load(row.text, "f.yml")[0], row.expect)
    if got is not None:
        assert got == row.expect
        assert [type(v) for v in got.values()] == [type(v) for v in row.expect.values()]


def dotted(doc, path):
    for step in path.split("."):
        doc = doc[step]
    return doc


@pytest.mark.parametrize("row", LOADER + FOUND, ids=ids(LOADER + FOUND))
def test_docker_cli_loader(row, tmp_path):
    """Each loader case is run by the CLI itself too: upstream's answer is
    the CLI's, and kargo's resolved file reads the same, field by field."""
    for name in row.files:
        (tmp_path / "deploy").mkdir(exist_ok=True)
        (tmp_path / "deploy" / name).write_text("upstream's own file\n", encoding="utf-8")
    kargo, cli = both_ways(tmp_path, row.text, row.shell)
    if isinstance(row.expect, Refused):
        assert row.expect.readme in README
        assert isinstance(kargo, Refusal) and not isinstance(cli, Refusal)
    elif isinstance(row.expect, Error):
        assert isinstance(cli, Refusal) and row.expect.words in str(cli), cli
        assert isinstance(kargo, Refusal), kargo
    else:
        assert not isinstance(cli, Refusal), cli
        assert kargo == cli
        for path, value in row.values.items():
            assert dotted(cli, path) == value
