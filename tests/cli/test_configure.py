"""`configure` through doit itself: outputs, staleness, removal, modes."""
import os
import stat

from support import write


def test_configure_merges_defaults_and_renders_templates(kargo):
    kargo.run("configure")
    merged = kargo.merged
    assert (merged / "deploy/front.yml").read_text().startswith('version: "3.8"')
    assert (merged / "configs/front/plain.conf").read_text() == "plain = 1\n"
    assert (merged / "configs/front/greeting.txt").read_text() == "hello world\n"
    assert (merged / "configs/front/page.html").read_text() == "<p>hello world</p>\n"
    assert stat.S_IMODE(merged.stat().st_mode) == 0o700
    # rendered from the environment: owner only, whatever the umask
    assert stat.S_IMODE((merged / "configs/front/greeting.txt").stat().st_mode) == 0o600
    assert stat.S_IMODE((merged / "configs/front/page.html").stat().st_mode) == 0o600


def test_second_configure_runs_nothing(kargo):
    kargo.run("configure")
    before = kargo.snapshot()
    again = kargo.run("configure")
    assert again.stdout.strip() == ""  # executed-only reporter: no task ran
    assert kargo.snapshot() == before


def test_changing_one_workspace_file_rewrites_exactly_that_output(kargo):
    write(kargo.workspace / "configs/front/plain.conf", "plain = 2\n")
    kargo.run("configure")
    before = kargo.snapshot()
    write(kargo.workspace / "configs/front/plain.conf", "plain = 3\n")
    out = kargo.run("configure").stdout
    after = kargo.snapshot()
    changed = {rel for rel in after if after[rel] != before.get(rel)}
    assert changed == {"configs/front/plain.conf"}
    assert after["configs/front/plain.conf"][0] == b"plain = 3\n"
    assert out.splitlines() == [".  _configure:configs/front/plain.conf"]


def test_variable_change_rerenders_only_templates_reading_it(kargo):
    kargo.run("configure")
    before = kargo.snapshot()
    write(kargo.workspace / ".env", "WHO=operators\nUNUSED=1\n")
    kargo.run("configure")
    after = kargo.snapshot()
    changed = {rel for rel in after if after[rel] != before[rel]}
    assert changed == {"configs/front/greeting.txt", "configs/front/page.html"}
    assert after["configs/front/greeting.txt"][0] == b"hello operators\n"
    # a variable no template reads changes nothing
    write(kargo.workspace / ".env", "WHO=operators\nUNUSED=2\n")
    assert kargo.run("configure").stdout.strip() == ""
    assert kargo.snapshot() == after


def test_shell_beats_workspace_env(kargo):
    write(kargo.workspace / ".env", "WHO=file\n")
    kargo.run("configure", env={"WHO": "shell"})
    assert (kargo.merged / "configs/front/greeting.txt").read_text() == "hello shell\n"


def test_workspace_override_then_removal_reverts_to_default(kargo):
    override = write(kargo.workspace / "configs/front/plain.conf", "mine\n")
    extra = write(kargo.workspace / "configs/front/extra.conf", "extra\n")
    kargo.run("configure")
    assert (kargo.merged / "configs/front/plain.conf").read_text() == "mine\n"
    assert (kargo.merged / "configs/front/extra.conf").exists()
    override.unlink()
    extra.unlink()
    kargo.run("configure")
    assert (kargo.merged / "configs/front/plain.conf").read_text() == "plain = 1\n"
    assert not (kargo.merged / "configs/front/extra.conf").exists()


def test_workspace_template_overrides_default_copy(kargo):
    write(kargo.workspace / "configs/front/plain.conf.tpl", "plain = ${WHO:-nobody}\n")
    kargo.run("configure")
    assert (kargo.merged / "configs/front/plain.conf").read_text() == "plain = nobody\n"


def test_copies_keep_the_operators_mode(kargo):
    write(kargo.workspace / "deploy/front_before.sh", "#!/bin/sh\necho hi\n", mode=0o750)
    write(kargo.workspace / "configs/front/secret.key", "s3cret\n", mode=0o600)
    kargo.run("configure")
    assert stat.S_IMODE((kargo.merged / "deploy/front_before.sh").stat().st_mode) == 0o750
    assert stat.S_IMODE((kargo.merged / "configs/front/secret.key").stat().st_mode) == 0o600


def test_files_under_secrets_are_owner_only_whatever_their_mode(kargo):
    write(kargo.workspace / "secrets/token.txt", "t0ken\n", mode=0o644)
    kargo.run("configure")
    assert stat.S_IMODE((kargo.merged / "secrets/token.txt").stat().st_mode) == 0o600
    assert kargo.run("configure").stdout == ""  # and that is not drift


def test_generated_file_replaces_a_symlink_instead_of_following_it(kargo, tmp_path):
    kargo.run("configure")
    victim = write(tmp_path / "victim.txt", "untouched\n")
    out = kargo.merged / "configs/front/greeting.txt"
    out.unlink()
    os.symlink(victim, out)
    assert kargo.run("configure").stdout == ".  _configure:configs/front/greeting.txt\n"
    assert victim.read_text() == "untouched\n"
    assert not out.is_symlink() and out.read_text() == "hello world\n"


def test_chmod_of_a_source_reaches_the_merged_file(kargo):
    hook = write(kargo.workspace / "deploy/front_before.sh", "#!/bin/sh\n", mode=0o644)
    kargo.run("configure")
    os.chmod(hook, 0o755)  # content and mtime unchanged: only the mode
    assert kargo.run("configure").stdout == ".  _configure:deploy/front_before.sh\n"
    assert stat.S_IMODE((kargo.merged / "deploy/front_before.sh").stat().st_mode) == 0o755


def test_unreadable_rows_of_the_doit_database_are_tasks_never_run(kargo):
    """A sound database file whose rows are not doit's JSON (one not JSON,
    one not UTF-8, one not a record): one line, the tasks are checked again
    against their files (none rewritten), and the run after is silent."""
    import sqlite3
    kargo.run("configure")
    before = kargo.snapshot()
    db = kargo.merged / ".state/doit.db"
    conn = sqlite3.connect(db)
    with conn:
        ids = [r[0] for r in conn.execute("select task_id from doit order by task_id")]
        for task_id, data in zip(ids, [b"{ not json", b"\xff\xfe", b"[1, 2]"] * len(ids)):
            conn.execute("update doit set task_data = ? where task_id = ?", (data, task_id))
    conn.close()
    again = kargo.run("configure")
    lines = again.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        f"kargo: a record of the doit database {db} could not be read ("), again.stderr
    assert lines[0].endswith("): its task is checked again against its files and the engine")
    assert kargo.snapshot() == before
    last = kargo.run("configure")
    assert last.stdout + last.stderr == ""
