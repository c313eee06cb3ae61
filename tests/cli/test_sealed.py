"""Workspace files encrypted with age (sealed.py), without an engine: the
`age` command and kargo read each other's files; `.kargo/` never holds a
plaintext; re-encrypting the same content changes nothing; `encrypt`, `edit`
and `rekey`; `plan` names the encrypted files; a missing or wrong identity
is one line naming the file."""
import os
import subprocess
import sys

import pytest

from support import age_encrypt, age_keygen as keygen, write

SECRET = "s3aled-canary-c41f0e"      # a secret file's content
ENV_VALUE = "s3aled-canary-env-9d2b"  # a value of .env.age
TPL_TEXT = "s3aled-canary-tpl-51aa"   # the own text of an encrypted template


def age_decrypt(path, identity):
    return subprocess.run(["age", "-d", "-i", str(identity), str(path)], check=True,
                          capture_output=True).stdout.decode()


@pytest.fixture
def sealed_ws(kargo, tmp_path):
    """A workspace with .age-recipients, an encrypted secret file, .env.age and
    an encrypted template, all made by the `age` command."""
    key = tmp_path / "key.txt"
    public = keygen(key)
    ws = kargo.workspace
    write(ws / ".age-recipients", f"# the team\n{public}\n\n")
    age_encrypt(f"{SECRET}\n", ws / ".age-recipients", ws / "secrets/db.age")
    age_encrypt(f"WHO={ENV_VALUE}\n", ws / ".age-recipients", ws / ".env.age", armor=True)
    age_encrypt(f"{TPL_TEXT} ${{WHO}}\n", ws / ".age-recipients",
                ws / "configs/front/private.txt.tpl.age")
    kargo.env["KARGO_AGE_IDENTITY"] = str(key)
    return key


def holders(kargo, *texts):
    return sorted(p.relative_to(kargo.merged).as_posix() for p in kargo.merged.rglob("*")
                  if p.is_file() and any(t.encode() in p.read_bytes() for t in texts))


def merged_plain(kargo, rel):
    """A merged file of a sealed source, decrypted as kargo reads it."""
    out = subprocess.run([sys.executable, "-c",
                          "import sys; from kargo_tasks.workspace import sealed; "
                          "sys.stdout.buffer.write(sealed.read_merged(sys.argv[1]))",
                          str(kargo.merged / rel)], env=kargo.env, capture_output=True,
                         check=True)
    return out.stdout.decode()


def test_configure_keeps_every_plaintext_off_the_disk(kargo, sealed_ws):
    runs = [kargo.run("--verbosity", "2", "configure", "_stack")]
    # the plaintext of the secret file, of the template and of .env.age: nowhere
    assert holders(kargo, SECRET, TPL_TEXT) == []
    # .env.age's value is interpolated by templates in clear (greeting.txt),
    # as a .env value is: owner-only files only
    for rel in holders(kargo, ENV_VALUE):
        assert (kargo.merged / rel).stat().st_mode & 0o777 == 0o600, rel
    assert "configs/front/private.txt" not in holders(kargo, ENV_VALUE)
    # what kargo reads back from them is the plaintext, rendered
    assert merged_plain(kargo, "secrets/db") == f"{SECRET}\n"
    assert merged_plain(kargo, "configs/front/private.txt") == f"{TPL_TEXT} {ENV_VALUE}\n"
    assert (kargo.merged / "configs/front/private.txt").stat().st_mode & 0o777 == 0o600
    db = (kargo.merged / ".state/doit.db").read_bytes()
    for text in (SECRET, ENV_VALUE, TPL_TEXT):
        assert text.encode() not in db

    # the `age` command encrypts the same contents again: nothing in .kargo/ changes
    before = kargo.snapshot()
    ws = kargo.workspace
    age_encrypt(f"{SECRET}\n", ws / ".age-recipients", ws / "secrets/db.age", armor=True)
    age_encrypt(f"WHO={ENV_VALUE}\n", ws / ".age-recipients", ws / ".env.age")
    age_encrypt(f"{TPL_TEXT} ${{WHO}}\n", ws / ".age-recipients",
                ws / "configs/front/private.txt.tpl.age")
    runs.append(kargo.run("--verbosity", "2", "configure", "_stack"))
    assert kargo.snapshot() == before
    # a changed content: its file only
    age_encrypt(f"{SECRET}-2\n", ws / ".age-recipients", ws / "secrets/db.age")
    runs.append(kargo.run("--verbosity", "2", "configure", "_stack"))
    after = kargo.snapshot()
    assert {rel for rel in after if after[rel] != before.get(rel)} == {"secrets/db"}
    assert merged_plain(kargo, "secrets/db") == f"{SECRET}-2\n"
    for proc in runs:
        for text in (SECRET, ENV_VALUE, TPL_TEXT):
            assert text not in proc.stdout + proc.stderr


def test_plan_names_the_encrypted_files_and_a_plain_workspace_is_unchanged(kargo, tmp_path):
    kargo.run("configure")
    plain = kargo.run("plan", check=False)
    assert "encrypted" not in plain.stdout + plain.stderr
    key = tmp_path / "key.txt"
    write(kargo.workspace / ".age-recipients", keygen(key) + "\n")
    age_encrypt("x\n", kargo.workspace / ".age-recipients", kargo.workspace / "secrets/db.age")
    age_encrypt("A=1\n", kargo.workspace / ".age-recipients", kargo.workspace / ".env.age")
    proc = kargo.run("plan", check=False, env={"KARGO_AGE_IDENTITY": str(key)})
    assert proc.stdout.splitlines()[0] == "encrypted (age): .env.age, secrets/db.age"


@pytest.mark.parametrize("identity", ["missing", "wrong"])
def test_no_identity_is_one_line_naming_the_file(kargo, sealed_ws, tmp_path, identity):
    other = tmp_path / "other.txt"
    if identity == "wrong":
        keygen(other)
    (kargo.workspace / ".env.age").unlink()  # the secret file is what fails
    proc = kargo.run("configure", check=False, env={"KARGO_AGE_IDENTITY": str(other)})
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.splitlines() if "cannot decrypt" in line]
    assert len(lines) == 1, proc.stdout + proc.stderr
    line = lines[0]
    assert f"{kargo.workspace}/configs/front/private.txt.tpl.age: cannot decrypt: " in line
    assert str(other) in line and "made for 1 X25519 key (age1...)" in line
    public = (kargo.workspace / ".age-recipients").read_text().split()[-1]
    assert public[:12] in line
    assert not (kargo.merged / "secrets/db").exists()
    # .env.age is read when the project loads: every task says it, `plan` too
    age_encrypt("A=1\n", kargo.workspace / ".age-recipients", kargo.workspace / ".env.age")
    proc = kargo.run("plan", check=False, env={"KARGO_AGE_IDENTITY": str(other)})
    assert proc.returncode == 3
    assert proc.stderr.count("\n") == 1 and ".env.age: cannot decrypt" in proc.stderr


def test_sops_locations_are_the_fallback(kargo, sealed_ws, tmp_path):
    env = {"KARGO_AGE_IDENTITY": "", "SOPS_AGE_KEY_FILE": str(sealed_ws)}
    kargo.run("configure", env=env)
    config = tmp_path / "xdg"
    write(config / "sops/age/keys.txt", sealed_ws.read_text())
    kargo.run("configure", env={"KARGO_AGE_IDENTITY": "", "XDG_CONFIG_HOME": str(config)})
    home = tmp_path / "home"
    write(home / ".config/sops/age/keys.txt", sealed_ws.read_text())
    kargo.run("configure", env={"KARGO_AGE_IDENTITY": "", "HOME": str(home)})
    proc = kargo.run("configure", check=False,
                     env={"KARGO_AGE_IDENTITY": "", "HOME": str(tmp_path / "nobody")})
    assert proc.returncode != 0 and "~/.config/sops/age/keys.txt" in proc.stderr


def test_kargo_and_the_age_command_read_each_other(kargo, tmp_path):
    key, key2 = tmp_path / "key.txt", tmp_path / "key2.txt"
    ssh_key = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(ssh_key)],
                   check=True)
    ws = kargo.workspace
    write(ws / ".age-recipients",
          f"{keygen(key)}\n# a deploy key\n{(tmp_path / 'id_ed25519.pub').read_text()}")
    write(ws / "secrets/api", SECRET)
    write(ws / ".env", f"WHO={ENV_VALUE}\n")
    proc = kargo.run("encrypt", "secrets/api", str(ws / ".env"))
    assert "encrypted secrets/api -> secrets/api.age for 2 recipient(s)" in proc.stdout
    assert not (ws / "secrets/api").exists() and not (ws / ".env").exists()
    # the `age` command opens them with either identity
    assert age_decrypt(ws / "secrets/api.age", key) == SECRET
    assert age_decrypt(ws / "secrets/api.age", ssh_key) == SECRET
    assert age_decrypt(ws / ".env.age", key) == f"WHO={ENV_VALUE}\n"

    # edit: through the editor, in a private folder removed afterwards
    editor = write(tmp_path / "editor.sh", "#!/bin/sh\n"
                   "echo \"$1\" > \"$(dirname \"$0\")/seen\"\n"
                   "stat -c %a \"$(dirname \"$1\")\" \"$1\" >> \"$(dirname \"$0\")/seen\"\n"
                   "sed -i s/canary/edited/ \"$1\"\n", mode=0o755)
    env = {"KARGO_AGE_IDENTITY": str(key), "EDITOR": str(editor), "VISUAL": ""}
    proc = kargo.run("edit", "secrets/api.age", env=env)
    assert "secrets/api.age: encrypted for 2 recipient(s)" in proc.stdout
    assert age_decrypt(ws / "secrets/api.age", ssh_key) == SECRET.replace("canary", "edited")
    seen, modes = (tmp_path / "seen").read_text().splitlines()[0], \
        (tmp_path / "seen").read_text().split()[1:]
    assert modes == ["700", "600"] and os.path.basename(seen) == "api"
    assert not os.path.exists(seen) and not os.path.exists(os.path.dirname(seen))
    # an editor that changes nothing writes nothing
    before = (ws / "secrets/api.age").read_bytes()
    proc = kargo.run("edit", "secrets/api", env=dict(env, EDITOR="true"))
    assert "unchanged" in proc.stdout and (ws / "secrets/api.age").read_bytes() == before

    # rekey: the ssh key removed, another added; every file follows
    public = subprocess.run(["age-keygen", "-y", str(key)], capture_output=True, text=True,
                            check=True).stdout
    write(tmp_path / "only-key", public)
    age_encrypt("made by age\n", tmp_path / "only-key", ws / "configs/front/by-age.txt.age")
    write(ws / ".age-recipients", public + keygen(key2) + "\n")
    proc = kargo.run("rekey", env={"KARGO_AGE_IDENTITY": str(key)})
    assert "rekeyed 3 file(s) for 2 recipient(s)" in proc.stdout
    for path in (ws / "secrets/api.age", ws / ".env.age", ws / "configs/front/by-age.txt.age"):
        assert age_decrypt(path, key2) == age_decrypt(path, key)
    with pytest.raises(subprocess.CalledProcessError):
        age_decrypt(ws / "secrets/api.age", ssh_key)
    # several identity files: any of them opens a file; one that is missing is an error
    keygen(tmp_path / "key3.txt")
    kargo.run("configure", env={"KARGO_AGE_IDENTITY": f"{tmp_path / 'key3.txt'}:{key2}"})
    proc = kargo.run("configure", check=False,
                     env={"KARGO_AGE_IDENTITY": f"{tmp_path / 'none'}:{key2}"})
    assert f"{tmp_path / 'none'} of KARGO_AGE_IDENTITY does not exist" in proc.stderr
    listed = {line.split()[0] for line in kargo.run("list", env={"KARGO_AGE_IDENTITY": str(key)}).stdout.splitlines()}
    assert {"encrypt", "edit", "rekey"} <= listed


def test_refused_where_another_program_reads_the_file(kargo, tmp_path):
    write(kargo.workspace / ".age-recipients", keygen(tmp_path / "key.txt") + "\n")
    age_encrypt("#!/bin/sh\n", kargo.workspace / ".age-recipients",
                kargo.workspace / "deploy/front_before.sh.age")
    proc = kargo.run("configure", check=False)
    assert proc.returncode != 0 and "front_before.sh.age" in proc.stderr
    assert "kargo decrypts only what it reads itself" in proc.stderr


def test_an_encrypted_compose_file_resolves_as_the_plain_one(kargo, tmp_path):
    key = tmp_path / "key.txt"
    write(kargo.workspace / ".age-recipients", keygen(key) + "\n")
    kargo.run("_stack")
    plain = (kargo.merged / "stacks/web.yml").read_text()
    source = kargo.root / "defaults/deploy/front.yml"
    age_encrypt(source.read_text(), kargo.workspace / ".age-recipients",
                kargo.workspace / "deploy/front.yml.age")
    kargo.run("_stack", env={"KARGO_AGE_IDENTITY": str(key)})
    # the stack file is made of its text: sealed too, for the same source
    stored = (kargo.merged / "stacks/web.yml").read_bytes()
    head, _, ciphertext = stored.partition(b"\n")
    assert head == b"kargo-sealed/v1 " + str(kargo.workspace / "deploy/front.yml.age").encode()
    (tmp_path / "web.age").write_bytes(ciphertext)
    assert age_decrypt(tmp_path / "web.age", key) == plain
    assert (kargo.merged / "deploy/front.yml").read_bytes().startswith(b"kargo-sealed/v1 ")
    # `show` without the identity that opens it names the encrypted source,
    # it does not send the operator to resolve a stack that is resolved
    other = tmp_path / "other.txt"
    keygen(other)
    shown = kargo.run("show", env={"KARGO_AGE_IDENTITY": str(other)})
    assert "resolve the stack first" not in shown.stdout.split("  web:")[1], shown.stdout
    [line] = [line for line in shown.stdout.splitlines() if line.startswith("    (ports: ")]
    assert f"{kargo.workspace / 'deploy/front.yml.age'}: cannot decrypt" in line, line
