"""Bad input gives one line naming the file (and line), a non-zero exit, and
changes nothing: every file of `.kargo/`, the doit database and the
`.workspace` record stay as they were (untouched.state), and the engine (a
probe as DOCKER_HOST) is never asked. More cases: test_bad_input_more.py."""
import os

import pytest

from kargo_tasks.workspace import merge
from support import write
from untouched import one_error_line, probe, state  # noqa: F401


@pytest.fixture
def unconfigured(kargo, probe):
    kargo.env["DOCKER_HOST"] = probe.url
    yield kargo
    assert probe.connections == 0, "the engine was asked"


@pytest.fixture
def started(unconfigured):
    """A root where a run has made `.kargo/` (every run does), nothing more."""
    unconfigured.run("list", check=False)
    return unconfigured


@pytest.fixture
def configured(unconfigured):
    unconfigured.run("configure")
    return unconfigured


def fails_changing_nothing(kargo, *args, env=None, failing=None):
    """The one error line of `doit <args>`, having checked it changed nothing.
    `failing`: the task that fails after others were checked. doit then
    saves the same rows again (compared by rows, not bytes) but for the
    failing task's, which it drops so that the next run runs it again."""
    before = state(kargo, db_bytes=failing is None)
    line = one_error_line(kargo.run(*args, check=False, env=env))
    assert line.startswith("kargo: "), line
    if failing:
        assert line.startswith(f"kargo: {failing}: "), line
        rows = before[".state/doit.db"][0]
        rows.pop(failing, None)  # recorded as done, when the file had a default
    assert state(kargo, db_bytes=failing is None) == before
    return line


CASES = {
    "undefined variable in .tpl": (
        "configs/front/greeting.txt.tpl", "line one\nhello ${NOBODY}\n",
        "greeting.txt.tpl:2: variable NOBODY is not defined"),
    "undefined variable in .j2": (
        "configs/front/page.html.j2", "<p>\n{{ NOBODY }}</p>\n",
        "page.html.j2:2: undefined in template: 'NOBODY' is undefined"),
    "broken jinja syntax": (
        "configs/front/page.html.j2", "{% if %}\n", "page.html.j2:1: template syntax error"),
    "jinja sandbox escape": (
        "configs/front/page.html.j2", "{{ ''.__class__.__mro__[1].__subclasses__() }}\n",
        "page.html.j2:1: template refused by the sandbox"),
    "unterminated ${ in .tpl": (
        "configs/front/greeting.txt.tpl", "${GREETING\n", "greeting.txt.tpl:1: unterminated ${"),
    "YAML override that does not parse": (
        "configs/front/settings.yml", "a: 1\nb: [unclosed\n", "settings.yml:3: not valid YAML"),
    "template not UTF-8": (
        "configs/front/greeting.txt.tpl", b"\xff\xfe${GREETING}\n", "not UTF-8"),
}


@pytest.mark.parametrize("rel, text, expected", CASES.values(), ids=list(CASES))
def test_bad_override_fails_on_one_line_and_keeps_merged_file(configured, rel, text, expected):
    path = configured.workspace / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    line = fails_changing_nothing(configured, "configure",
                                  failing=f"_configure:{merge.output_of(rel)[0]}")
    assert expected in line
    assert str(configured.workspace) in line


def test_symlink_escaping_the_workspace(configured, tmp_path):
    outside = write(tmp_path / "outside.conf", "stolen\n")
    link = configured.workspace / "configs/front/plain.conf"
    link.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(outside, link)
    line = fails_changing_nothing(configured, "configure")
    assert f"{link}: symbolic link points outside" in line


def test_broken_symlink(configured):
    link = configured.workspace / "configs/front/plain.conf"
    link.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(configured.workspace / "nowhere", link)
    assert f"{link}: broken symbolic link" in fails_changing_nothing(configured, "configure")


def test_env_syntax_error_names_file_and_line(configured):
    write(configured.workspace / ".env", "GOOD=1\nthis is not an assignment\n")
    line = fails_changing_nothing(configured, "configure")
    assert f"{configured.workspace / '.env'}:2: cannot parse" in line


def test_undefined_variable_in_env_names_file_and_line(configured):
    write(configured.workspace / ".env", "A=1\nB=${MISSING_ONE}\n")
    line = fails_changing_nothing(configured, "configure")
    assert f"{configured.workspace / '.env'}:2: variable MISSING_ONE is not defined" in line


@pytest.mark.parametrize("value, expected", [
    ("/does/not/exist", "workspace /does/not/exist does not exist"),
    (None, "is not a folder"),
])
def test_bad_workspace(started, tmp_path, value, expected):
    if value is None:
        value = str(write(tmp_path / "a-file", "x"))
    line = fails_changing_nothing(started, "configure", env={"KARGO_WORKSPACE": value})
    assert "KARGO_WORKSPACE" in line and expected in line
    assert "kargo use --workspace DIR" in line


def test_no_workspace_selected(started):
    kargo = started
    del kargo.env["KARGO_WORKSPACE"]
    kargo.run("list", check=False)  # makes the state of no workspace, as every run does
    line = fails_changing_nothing(kargo, "configure")
    assert "no workspace selected" in line
    listing = kargo.run("list").stdout
    assert "deploy:web" in listing and "now: none selected" in listing


def test_stack_with_unknown_service(configured):
    write(configured.workspace / ".env", 'WEB_STACK="front ghost"\n')
    line = fails_changing_nothing(configured, "configure")
    assert "stack web: service ghost has no compose file deploy/ghost.yml" in line
    assert f"{configured.workspace / '.env'}:1" in line


def test_stacks_names_a_stack_without_its_variable(configured):
    write(configured.workspace / ".env", 'STACKS="web extra"\n')
    line = fails_changing_nothing(configured, "configure")
    assert "stack extra is listed in STACKS but EXTRA_STACK is not set" in line


def test_errors_never_show_values(configured):
    canary = "s3cr3t-canary-value"
    write(configured.workspace / ".env", f"TOKEN={canary}\nBROKEN ${canary}\n")
    before = state(configured)
    proc = configured.run("configure", check=False)
    assert proc.returncode != 0
    assert canary not in proc.stdout + proc.stderr
    assert state(configured) == before
