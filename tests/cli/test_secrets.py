"""No value of the environment reaches the doit database or a readable file."""
import stat

from support import write

CANARY = "s3cr3t-canary-7f3a9"


def test_canary_stays_out_of_the_doit_database_and_readable_files(kargo):
    write(kargo.workspace / ".env", f"WHO={CANARY}\nFRONT_TAG={CANARY}\n")
    write(kargo.workspace / "configs/front/secret.tpl", "token=${WHO}\n")
    first = kargo.run("--verbosity", "2", "configure", "_stack")
    # a variable change re-renders: run again so old and new digests are both stored
    write(kargo.workspace / ".env", f"WHO={CANARY}x\nFRONT_TAG={CANARY}\n")
    second = kargo.run("--verbosity", "2", "configure", "_stack")
    for proc in (first, second):
        assert CANARY not in proc.stdout + proc.stderr
    db = kargo.merged / ".state" / "doit.db"
    assert db.exists()
    assert CANARY.encode() not in db.read_bytes()
    holders = []
    for path in kargo.merged.rglob("*"):
        if path.is_file() and CANARY.encode() in path.read_bytes():
            holders.append(path.relative_to(kargo.merged).as_posix())
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert sorted(holders) == ["configs/front/greeting.txt", "configs/front/page.html",
                               "configs/front/secret", "stacks/web.yml"]
    assert stat.S_IMODE(kargo.merged.stat().st_mode) == 0o700
