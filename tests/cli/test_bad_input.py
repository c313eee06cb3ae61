"""Bad input gives one line naming the file (and line), a non-zero exit, and
leaves the merged configuration as it was."""
import os

import pytest

from support import write


def one_error_line(proc):
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    return lines[0]


@pytest.fixture
def configured(kargo):
    kargo.run("configure")
    return kargo


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
    before = configured.snapshot()
    path = configured.workspace / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    line = one_error_line(configured.run("configure", check=False))
    assert expected in line
    assert str(configured.workspace) in line
    assert configured.snapshot() == before


def test_symlink_escaping_the_workspace(configured, tmp_path):
    before = configured.snapshot()
    outside = write(tmp_path / "outside.conf", "stolen\n")
    link = configured.workspace / "configs/front/plain.conf"
    link.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(outside, link)
    line = one_error_line(configured.run("configure", check=False))
    assert f"{link}: symbolic link points outside" in line
    assert configured.snapshot() == before


def test_broken_symlink(configured):
    link = configured.workspace / "configs/front/plain.conf"
    link.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(configured.workspace / "nowhere", link)
    assert f"{link}: broken symbolic link" in one_error_line(configured.run("configure", check=False))


def test_env_syntax_error_names_file_and_line(configured):
    before = configured.snapshot()
    write(configured.workspace / ".env", "GOOD=1\nthis is not an assignment\n")
    line = one_error_line(configured.run("configure", check=False))
    assert f"{configured.workspace / '.env'}:2: cannot parse" in line
    assert configured.snapshot() == before


def test_undefined_variable_in_env_names_file_and_line(configured):
    write(configured.workspace / ".env", "A=1\nB=${MISSING_ONE}\n")
    line = one_error_line(configured.run("configure", check=False))
    assert f"{configured.workspace / '.env'}:2: variable MISSING_ONE is not defined" in line


@pytest.mark.parametrize("value, expected", [
    ("/does/not/exist", "workspace /does/not/exist does not exist"),
    (None, "is not a folder"),
])
def test_bad_workspace(kargo, tmp_path, value, expected):
    if value is None:
        value = str(write(tmp_path / "a-file", "x"))
    line = one_error_line(kargo.run("configure", check=False, env={"KARGO_WORKSPACE": value}))
    assert "KARGO_WORKSPACE" in line and expected in line
    assert "kargo use --workspace DIR" in line


def test_no_workspace_selected(kargo):
    env = dict(kargo.env)
    del env["KARGO_WORKSPACE"]
    kargo.env = env
    line = one_error_line(kargo.run("configure", check=False))
    assert "no workspace selected" in line
    listing = kargo.run("list").stdout
    assert "deploy:web" in listing and "now: none selected" in listing


def test_stack_with_unknown_service(configured):
    write(configured.workspace / ".env", 'WEB_STACK="front ghost"\n')
    line = one_error_line(configured.run("configure", check=False))
    assert "stack web: service ghost has no compose file deploy/ghost.yml" in line
    assert f"{configured.workspace / '.env'}:1" in line


def test_stacks_names_a_stack_without_its_variable(configured):
    write(configured.workspace / ".env", 'STACKS="web extra"\n')
    line = one_error_line(configured.run("configure", check=False))
    assert "stack extra is listed in STACKS but EXTRA_STACK is not set" in line


def test_errors_never_show_values(configured):
    canary = "s3cr3t-canary-value"
    write(configured.workspace / ".env", f"TOKEN={canary}\nBROKEN ${canary}\n")
    proc = configured.run("configure", check=False)
    assert proc.returncode != 0
    assert canary not in proc.stdout + proc.stderr
