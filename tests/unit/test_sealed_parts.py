"""sealed.py's pure parts: names, recipients and identity files (errors
name the line, never quote it), where the identity is looked for, what an
age header says it was made for, the merged form, and the overlay and
masking rules for encrypted files."""
import base64
import hashlib
from pathlib import Path

import pytest
from pyrage import x25519

from kargo_tasks.workspace import masking, merge, sealed
from kargo_tasks.workspace.environment import Environment
from kargo_tasks.base.errors import ConfigError, KargoError

SSH_PUB = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIP3sXhFAnN3G9EPQXzTMD9tezKqEl1fSP/zyuLeSbNED "
           "bob@host")


def test_names():
    assert sealed.is_sealed("secrets/db.age") and sealed.is_sealed(Path("/w/.env.age"))
    assert not sealed.is_sealed("secrets/.age") and not sealed.is_sealed("secrets/db")
    assert sealed.unsealed_name("configs/a.yaml.tpl.age") == "configs/a.yaml.tpl"
    assert sealed.unsealed_name("configs/a.yaml") == "configs/a.yaml"
    assert sealed.refused("secrets/db") is None and sealed.refused("deploy/web.yml") is None
    for out in ("images/x/Dockerfile", "scripts/backup.sh", "deploy/web_before.sh",
                "deploy/web_after.sh"):
        assert sealed.refused(out), out


def test_recipients_file():
    key = str(x25519.Identity.generate().to_public())
    text = f"# the team\n\n{key}\n  {SSH_PUB}  \n# ci\n"
    assert sealed.parse_recipients(text, "w/.age-recipients") == [key, SSH_PUB]
    with pytest.raises(ConfigError) as err:
        sealed.parse_recipients(f"{key}\nage1-n0t-a-key-s3cr3t\n", "w/.age-recipients")
    assert str(err.value).startswith("w/.age-recipients:2: not an age public key")
    assert "s3cr3t" not in str(err.value)


def test_recipients_of_a_workspace(tmp_path):
    with pytest.raises(ConfigError, match=r"\.age-recipients: no recipients to encrypt for"):
        sealed.recipients(tmp_path)
    (tmp_path / ".age-recipients").write_text("# nobody yet\n")
    with pytest.raises(ConfigError, match="lists no recipient"):
        sealed.recipients(tmp_path)


def test_identity_files_follow_kargo_then_sops(tmp_path):
    home = {"HOME": "/home/op"}
    assert sealed.identity_files({"KARGO_AGE_IDENTITY": "/a/k.txt:~/b.txt", **home}) == (
        [Path("/a/k.txt"), Path("~/b.txt").expanduser()], "KARGO_AGE_IDENTITY")
    assert sealed.identity_files({"SOPS_AGE_KEY_FILE": "/s/keys.txt", **home}) == (
        [Path("/s/keys.txt")], "SOPS_AGE_KEY_FILE")
    assert sealed.identity_files({"KARGO_AGE_IDENTITY": " ", "XDG_CONFIG_HOME": "/x", **home})[0] \
        == [Path("/x/sops/age/keys.txt")]
    assert sealed.identity_files(home)[0] == [Path("/home/op/.config/sops/age/keys.txt")]


def test_identity_file_errors_never_quote_a_key():
    key = x25519.Identity.generate()
    text = f"# created: today\n# public key: {key.to_public()}\n{key}\n"
    assert len(sealed.parse_identities(text.encode(), "k.txt")) == 1
    bad = f"{key}\nAGE-SECRET-KEY-1S3CR3TBUTBROKEN\n".encode()
    with pytest.raises(ConfigError) as err:
        sealed.parse_identities(bad, "k.txt")
    assert str(err.value) == "k.txt:2: not an age identity (AGE-SECRET-KEY-1...)"
    with pytest.raises(ConfigError, match="holds no age identity"):
        sealed.parse_identities(b"# empty\n", "k.txt")
    with pytest.raises(ConfigError, match="not an ssh private key"):
        sealed.parse_identities(b"-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n", "id")


def test_made_for_names_the_ssh_recipients_it_knows():
    wire = base64.b64decode(SSH_PUB.split()[1])
    tag = base64.b64encode(hashlib.sha256(wire).digest()[:4]).decode().rstrip("=")
    assert sealed.ssh_tag(SSH_PUB) == tag and sealed.ssh_tag("age1xyz") is None
    header = (b"age-encryption.org/v1\n-> X25519 abc\nbody\n-> X25519 def\nbody\n"
              b"-> ssh-ed25519 " + tag.encode() + b" xyz\nbody\n-> ssh-ed25519 zzzzzz q\n"
              b"body\n-> 1x-grease junk\n--- mac\n\x00binary")
    assert sealed.made_for(header, [SSH_PUB]) == (
        "made for 2 X25519 keys (age1...), ssh-ed25519 AAAAC3NzaC1l... bob@host, "
        "the ssh-ed25519 key tagged zzzzzz")
    armored = b"\n".join([b"-----BEGIN AGE ENCRYPTED FILE-----",
                          base64.b64encode(header[:60]),
                          b"-----END AGE ENCRYPTED FILE-----"])
    assert sealed.stanzas(armored)[0] == ("X25519", "abc")
    assert sealed.made_for(b"plain text") == "it is not an age file"


def test_encrypt_decrypt_and_the_merged_form(tmp_path, monkeypatch):
    key = x25519.Identity.generate()
    (tmp_path / "k.txt").write_text(f"{key}\n")
    env = {"KARGO_AGE_IDENTITY": str(tmp_path / "k.txt")}
    ciphertext = sealed.encrypt(b"pl41n", [str(key.to_public())])
    assert ciphertext.startswith(sealed.ARMOR)
    assert sealed.decrypt(ciphertext, "f.age", env) == b"pl41n"
    other = x25519.Identity.generate()
    with pytest.raises(KargoError) as err:
        sealed.decrypt(sealed.encrypt(b"pl41n", [str(other.to_public())]), "f.age", env)
    assert str(err.value).startswith(f"f.age: cannot decrypt: the identity of "
                                     f"KARGO_AGE_IDENTITY ({tmp_path / 'k.txt'}) does not open")
    assert "pl41n" not in str(err.value)
    merged = sealed.merged_form("/w/secrets/db.age", ciphertext)
    assert sealed.split_merged(merged) == ("/w/secrets/db.age", ciphertext)
    assert sealed.split_merged(b"plain") is None
    (tmp_path / "out").write_bytes(merged)
    monkeypatch.setenv("KARGO_AGE_IDENTITY", str(tmp_path / "k.txt"))
    assert sealed.read_merged(tmp_path / "out") == b"pl41n"
    assert sealed.is_sealed_merged(tmp_path / "out")


def test_an_encrypted_file_takes_the_place_of_the_plain_one(tmp_path):
    defaults, ws = tmp_path / "defaults", tmp_path / "ws"
    for path in (defaults / "secrets/db", defaults / "configs/a.yaml.tpl",
                 ws / "secrets/db.age", ws / "configs/a.yaml.tpl.age", ws / ".env.age"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    plan = merge.overlay([merge.Layer("defaults", defaults), merge.Layer("workspace", ws)])
    assert plan["secrets/db"].path == ws / "secrets/db.age" and plan["secrets/db"].kind == "copy"
    assert plan["configs/a.yaml"].path == ws / "configs/a.yaml.tpl.age"
    assert plan["configs/a.yaml"].kind == "subst"
    assert set(plan) == {"secrets/db", "configs/a.yaml"}  # .env.age is no overlay file
    (ws / "secrets/db").write_text("x")
    with pytest.raises(ConfigError, match="both db and db.age make secrets/db"):
        merge.overlay([merge.Layer("workspace", ws)])


def test_a_value_of_env_age_is_never_public():
    env = Environment({"KARGO_PUBLIC": "*_TAG", "A_TAG": "1", "B_TAG": "2"},
                      {"KARGO_PUBLIC": "shell", "A_TAG": "/w/.env:1", "B_TAG": "/w/.env.age:3"})
    shown = masking.public(env)
    assert shown("A_TAG") and not shown("B_TAG")


@pytest.fixture
def sealed_env(tmp_path, monkeypatch):
    """(workspace, Environment) of a `.env` and a `.env.age` (PASS), the
    identity that opens it in KARGO_AGE_IDENTITY."""
    key = x25519.Identity.generate()
    (tmp_path / "k.txt").write_text(f"{key}\n")
    monkeypatch.setenv("KARGO_AGE_IDENTITY", str(tmp_path / "k.txt"))
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / ".age-recipients").write_text(f"{key.to_public()}\n")
    (ws / ".env").write_text("URL=pg://u:${PASS}@db\nHOST=db\nNAME=${HOST}-1\n")
    (ws / ".env.age").write_bytes(sealed.encrypt(b"PASS=s3cr3t\n", [str(key.to_public())]))
    return ws


def test_a_value_made_of_an_env_age_value_is_its_too(sealed_env):
    from kargo_tasks.workspace.environment import load
    files = [sealed_env / ".env", sealed_env / ".env.age"]
    env = load(files, {"OTHER": "x"})
    assert env.get("URL") == "pg://u:s3cr3t@db"
    assert sealed.secret_names(env) == {"PASS", "URL"}
    assert not masking.public(Environment(env.as_dict(), {}, env.made_from))("URL")
    # the shell's PASS wins: nothing of `.env.age` is in it then
    assert sealed.secret_names(load(files, {"PASS": "p"})) == set()


def test_what_a_merged_file_is_sealed_for(sealed_env):
    from kargo_tasks.workspace.environment import load
    env = load([sealed_env / ".env", sealed_env / ".env.age"], {})
    ws_env = str(sealed_env / ".env.age")
    assert sealed.sealed_for("configs/a.conf", env, {"URL", "HOST"}, sealed_env) == ws_env
    assert sealed.sealed_for("stacks/s.yml", env, {"HOST", "NAME"}, sealed_env) is None
    assert sealed.sealed_for("stacks/s.yml", env, {"HOST"}, sealed_env,
                             ["/w/deploy/web.yml.age"]) == "/w/deploy/web.yml.age"
    # read from the disk by another program: its text, as a hook needs it
    assert sealed.sealed_for("deploy/web_before.sh", env, {"PASS"}, sealed_env) is None


def test_a_sealed_output_keeps_its_bytes_while_its_plaintext_is_the_same(sealed_env):
    from kargo_tasks.workspace.environment import load
    from kargo_tasks.workspace.merge import Source
    env = load([sealed_env / ".env", sealed_env / ".env.age"], {})
    target, rel = sealed_env / "out", str(sealed_env / ".env.age")
    first = sealed.seal(b"pg://u:s3cr3t@db", rel, sealed_env, target)
    assert first.startswith(sealed.MARK + rel.encode() + b"\n") and b"s3cr3t" not in first
    target.write_bytes(first)
    assert sealed.seal(b"pg://u:s3cr3t@db", rel, sealed_env, target) == first
    other = sealed.seal(b"pg://u:n3w@db", rel, sealed_env, target)
    assert other != first and sealed.open_merged(other) == b"pg://u:n3w@db"
    assert sealed.open_merged(b"plain: text\n") == b"plain: text\n"
    # a plain template: sealed when it read a value of `.env.age`, else as rendered
    tpl = Source(sealed_env / "a.conf.tpl", "subst", "workspace")
    assert sealed.stored(tpl, b"db-1", sealed_env, None, env, {"NAME"}, "configs/a.conf") \
        == b"db-1"
    assert sealed.open_merged(sealed.stored(tpl, b"pg://u:s3cr3t@db", sealed_env, None, env,
                                            {"URL"}, "configs/a.conf")) == b"pg://u:s3cr3t@db"
