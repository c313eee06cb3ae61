"""Sealed files: workspace files encrypted with age, read in memory only.

`X.age` (the age v1 format, binary or armored, as `age`/`rage` write it)
takes the place of the workspace file `X`: `secrets/db.age` makes the merged
file `secrets/db`, `configs/a.yaml.tpl.age` renders into `configs/a.yaml`,
and `.env.age` is an environment layer read right after the workspace `.env`
(a base's, chain.py, right after the base's). The workspace's `.age-recipients`
lists the public keys files are encrypted for (age X25519 `age1...` and ssh
keys, one a line, `#` comments); what kargo encrypts into `.kargo/` is for the
workspace's, else the nearest base's that has one (sealing_folder).

The identity that decrypts is read from the files KARGO_AGE_IDENTITY names
(several separated by `:`), else as sops finds an age key: SOPS_AGE_KEY_FILE,
else `$XDG_CONFIG_HOME/sops/age/keys.txt` (`~/.config/sops/age/keys.txt`).

Never in clear on disk: `.kargo/` holds a sealed source's merged file as
MARK, the source's path, then its age ciphertext (the source's own bytes for a copy, the rendering
encrypted again to the recipients for a template, the old bytes when the
plaintext is the same: re-encrypting a file changes nothing downstream);
whatever reads a merged file reads it through `read_merged`, and a Swarm
config or secret made from one is created from memory (deploy/sealed_objects.py). Errors
name files and recipients, never a byte of content.
"""
import base64
import hashlib
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from kargo_tasks.base.errors import ConfigError, KargoError

SUFFIX = ".age"
RECIPIENTS = ".age-recipients"
ENV_FILE = ".env.age"
IDENTITY = "KARGO_AGE_IDENTITY"
SOPS_KEY_FILE = "SOPS_AGE_KEY_FILE"
# what a merged file made from a sealed source starts with, then the source's
# path and a newline, then the age file
MARK = b"kargo-sealed/v1 "
AGE_HEADER = b"age-encryption.org/v1\n"
ARMOR = b"-----BEGIN AGE ENCRYPTED FILE-----"
# merged files other programs read from the disk themselves (hooks, scripts,
# build contexts): a sealed source there would reach them as ciphertext
HOOK = re.compile(r"^deploy/[^/]+_(before|after)\.sh$")
REFUSED_TOPS = ("images", "scripts")


def is_sealed(path: str | os.PathLike) -> bool:
    """A source named `X.age` (the name longer than the suffix)."""
    name = os.path.basename(os.fspath(path))
    return name.endswith(SUFFIX) and len(name) > len(SUFFIX)


def unsealed_name(rel: str) -> str:
    """`secrets/db.age` -> `secrets/db` (the name the file takes the place of)."""
    return rel[: -len(SUFFIX)] if is_sealed(rel) else rel


def refused(out: str):
    """Why a sealed source cannot make the merged file `out`, or None."""
    if out.split("/", 1)[0] in REFUSED_TOPS or HOOK.match(out):
        return (f"{out} is run or built from the disk by another program: kargo decrypts only "
                "what it reads itself (secrets, configs, templates, compose and env files)")
    return None


# --- recipients -----------------------------------------------------------------------

def parse_recipients(text: str, where: str):
    """[(line as written, without comment), ...] of a recipients file; a line
    that is no age or ssh public key is an error naming the line."""
    found = []
    for number, line in _lines(text):
        try:
            _recipient(line)
        except Exception:
            raise ConfigError("not an age public key (age1...) nor an ssh public key "
                              "(ssh-ed25519 / ssh-rsa)", where=f"{where}:{number}") from None
        found.append(line)
    return found


def _lines(text):
    """(number, line stripped) of the lines that are not blank nor `#` comments."""
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if line and not line.startswith("#"):
            yield number, line


def _recipient(line):
    from pyrage import ssh, x25519
    if line.startswith("age1"):
        return x25519.Recipient.from_str(line)
    if line.startswith("ssh-"):
        return ssh.Recipient.from_str(line)
    raise ValueError("unknown recipient")


def recipients(workspace: str | os.PathLike | None) -> list[str]:
    """The recipients of the workspace's `.age-recipients` (as written)."""
    if workspace is None:
        raise ConfigError("no workspace selected: its .age-recipients say whom to encrypt for")
    path = Path(workspace) / RECIPIENTS
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("no recipients to encrypt for: list the public keys in this file, "
                          "one a line (`age-keygen -y KEYFILE` prints yours)",
                          where=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read: {getattr(exc, 'strerror', None) or exc}",
                          where=str(path)) from None
    found = parse_recipients(text, str(path))
    if not found:
        raise ConfigError("lists no recipient (one public key a line)", where=str(path))
    return found


def ssh_tag(line: str):
    """The tag age writes in an ssh recipient's stanza: the first 4 bytes of
    SHA-256 of the key's wire form, base64 without padding; None for others."""
    parts = line.split()
    if len(parts) < 2 or not parts[0].startswith("ssh-"):
        return None
    try:
        wire = base64.b64decode(parts[1], validate=True)
    except ValueError:
        return None
    return base64.b64encode(hashlib.sha256(wire).digest()[:4]).decode().rstrip("=")


def stanzas(data: bytes):
    """[(type, first argument)] of the recipient stanzas in an age file's
    header (an armored one decoded first); [] when it is not an age file."""
    if data.lstrip().startswith(ARMOR):
        body = b"".join(line for line in data.strip().splitlines()[1:-1])
        try:
            data = base64.b64decode(body)
        except ValueError:
            return []
    if not data.startswith(AGE_HEADER):
        return []
    found = []
    for line in data.split(b"\n---", 1)[0].split(b"\n")[1:]:
        if line.startswith(b"-> "):
            args = line[3:].decode("ascii", "replace").split()
            found.append((args[0] if args else "?", args[1] if len(args) > 1 else ""))
    return found


def made_for(data: bytes, known=()) -> str:
    """Who an age file was made for, in words: its stanzas (an X25519 one
    does not say its key), the ssh ones named by the recipient of `known`
    (recipient lines) they match."""
    found = [(kind, arg) for kind, arg in stanzas(data) if not kind.endswith("-grease")]
    if not stanzas(data):
        return "it is not an age file"
    tags = {ssh_tag(line): line for line in known if ssh_tag(line)}
    words, x25519 = [], sum(kind == "X25519" for kind, _ in found)
    if x25519:
        words.append(f"{x25519} X25519 key{'s' if x25519 > 1 else ''} (age1...)")
    for kind, arg in found:
        if kind.startswith("ssh-"):
            words.append(_short(tags[arg]) if arg in tags else f"the {kind} key tagged {arg}")
        elif kind != "X25519":
            words.append(f"a {kind} recipient")
    return "made for " + (", ".join(words) or "no recipient")


def _short(line):
    """A recipient shortened: `age1qyqszqgp...`, `ssh-ed25519 AAAAC3NzaC1l... bob@host`."""
    parts = line.split()
    if len(parts) == 1:
        return parts[0][:16] + "..."
    return " ".join([parts[0], parts[1][:12] + "...", *parts[2:3]])


# --- identities ------------------------------------------------------------------------

def identity_files(environ=None):
    """([paths], where they were named) of the identity files to use."""
    environ = os.environ if environ is None else environ
    value = environ.get(IDENTITY, "").strip()
    if value:
        return [Path(p).expanduser() for p in value.split(os.pathsep) if p.strip()], IDENTITY
    value = environ.get(SOPS_KEY_FILE, "").strip()
    if value:
        return [Path(value).expanduser()], SOPS_KEY_FILE
    config = environ.get("XDG_CONFIG_HOME", "").strip() or os.path.join(
        environ.get("HOME") or os.path.expanduser("~"), ".config")
    return [Path(config) / "sops" / "age" / "keys.txt"], "the sops user location"


def parse_identities(data: bytes, where: str):
    """The identities of one identity file: an ssh private key, or lines of
    `AGE-SECRET-KEY-1...` (`#` comments). Errors never quote a line."""
    from pyrage import ssh, x25519
    if b"PRIVATE KEY-----" in data:
        try:
            return [ssh.Identity.from_buffer(data)]
        except Exception:
            raise ConfigError("not an ssh private key age can use (an unencrypted "
                              "ssh-ed25519 or ssh-rsa key)", where=where) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError("not an age identity file (not UTF-8 text)", where=where) from None
    found = []
    for number, line in _lines(text):
        try:
            found.append(x25519.Identity.from_str(line))
        except Exception:
            raise ConfigError("not an age identity (AGE-SECRET-KEY-1...)",
                              where=f"{where}:{number}") from None
    if not found:
        raise ConfigError("holds no age identity", where=where)
    return found


_IDENTITIES: dict[tuple, list] = {}  # identity files -> what they hold, read once


def identities(environ=None):
    """(identities, words naming where they came from), read once per process."""
    paths, origin = identity_files(environ)
    key = tuple(map(str, paths))
    if key not in _IDENTITIES:
        found, missing = [], []
        for path in paths:
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                missing.append(path)
                continue
            except OSError as exc:
                raise ConfigError(f"cannot read the age identity: {exc.strerror}",
                                  where=str(path)) from None
            found += parse_identities(data, str(path))
        shown = ", ".join(map(str, paths))
        if missing and (origin == IDENTITY or not found):
            words = (f"no age identity: {shown} does not exist (set {IDENTITY} to your "
                     f"identity file, or {SOPS_KEY_FILE}, or put it in "
                     "~/.config/sops/age/keys.txt)" if origin != IDENTITY else
                     f"no age identity: {', '.join(map(str, missing))} of {IDENTITY} "
                     "does not exist")
            _IDENTITIES[key] = (None, words)
        else:
            _IDENTITIES[key] = (found, f"the identity of {origin} ({shown})")
    return _IDENTITIES[key]


# --- decrypt, encrypt -----------------------------------------------------------------

def decrypt(data: bytes, where: str, environ=None) -> bytes:
    """The plaintext of the age file `data` (the file `where`); one line
    naming the file, the identity and who the file was made for when it
    cannot (the recipients of the nearest `.age-recipients` above it)."""
    import pyrage
    found, words = identities(environ)
    if found is None:
        problem = words
    else:
        try:
            return pyrage.decrypt(data, found)
        except Exception as exc:  # its message names no content, but is not ours to show
            problem = (f"{words} does not open it" if "No matching keys" in str(exc)
                       else f"a damaged age file ({words})")
    known = _known(where)
    raise KargoError(f"cannot decrypt: {problem}; {made_for(data, known)}{_hint(known)}",
                     where=where) from None


def _hint(known):
    if not known:
        return ""
    return f"; {RECIPIENTS} lists " + ", ".join(_short(k) for k in known)


def encrypt(plain: bytes, lines: Iterable[str]) -> bytes:
    """`plain` encrypted (armored, as `age -a`) for the recipient lines."""
    import pyrage
    return pyrage.encrypt(plain, [_recipient(line) for line in lines], armored=True)


def _known(where):
    """The recipient lines of the `.age-recipients` nearest above `where`."""
    for folder in Path(os.path.abspath(where)).parents:
        if (folder / RECIPIENTS).is_file():
            try:
                return recipients(folder)
            except KargoError:
                return []
    return []


def read_source(path: str | os.PathLike) -> bytes:
    """The bytes of a workspace file, decrypted in memory when it is sealed."""
    data = Path(path).read_bytes()
    if not is_sealed(path):
        return data
    return decrypt(data, str(path))


# --- merged files ----------------------------------------------------------------------

def merged_form(source_rel: str, ciphertext: bytes) -> bytes:
    return MARK + source_rel.encode() + b"\n" + ciphertext


def split_merged(data: bytes):
    """(source named in the mark, ciphertext) of a merged file, or None."""
    if not data.startswith(MARK):
        return None
    head, _, rest = data.partition(b"\n")
    return head[len(MARK):].decode("utf-8", "replace"), rest


def read_merged(path: str | os.PathLike, sources: Any = None) -> bytes:
    """A merged file's bytes, decrypted in memory when it was made from a
    sealed source (the error then names that source; `sources`, a list,
    gets its name: what is made of the text is sealed for it too)."""
    data = Path(path).read_bytes()
    parts = split_merged(data)
    if parts is not None and sources is not None:
        sources.append(parts[0])
    return open_merged(data)


def open_merged(data: bytes) -> bytes:
    """The plaintext of a merged file's bytes (a stack file's kept version
    too): decrypted in memory when sealed, else as they are."""
    parts = split_merged(data)
    if parts is None:
        return data
    return decrypt(parts[1], parts[0])


def is_sealed_merged(path: str | os.PathLike) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(len(MARK)) == MARK
    except OSError:
        return False


def secret_names(env: Any) -> set[str]:
    """The variables whose value is `.env.age`'s: set there, or made from one
    of its values (`URL=pg://u:${DB_PASSWORD}@db` in `.env`)."""
    def of_env_file(where):
        return where.rsplit(":", 1)[0].endswith(f"/{ENV_FILE}")
    found = {name for name, where in (getattr(env, "origins", None) or {}).items()
             if of_env_file(where)}
    return found | {name for name, files in (getattr(env, "made_from", None) or {}).items()
                    if any(of_env_file(f + ":") for f in files)}


def sealed_for(out: str, env: Any, reads: Iterable[str], workspace: Path | None,
               sources: Sequence[str] = ()) -> str | None:
    """The sealed source a merged file `out` made from the variables `reads`
    and the merged files `sources` is kept sealed for (named in its mark):
    the first sealed one of `sources`, else `.env.age` when it read one of
    its values; None when nothing sealed went into it, or when another
    program reads `out` from the disk (refused: a hook must get its text)."""
    if refused(out):
        return None
    if sources:
        return sources[0]
    if workspace is not None and env is not None:
        # the `.env.age` (the workspace's or a base's) the first such value came from
        for name in sorted(secret_names(env) & set(reads)):
            files = {env.origins[name].rsplit(":", 1)[0], *env.made_from.get(name, ())}
            found = sorted(f for f in files if f.endswith(f"/{ENV_FILE}"))
            if found:
                return found[-1]
    return None


def stored(source: Any, data: bytes, workspace: Path | None, target: str | os.PathLike | None = None,
           env: Any = None, reads: Iterable[str] = (), out: str = "") -> bytes:
    """What `.kargo/` holds for `source` rendered into `data` (that read the
    variables `reads` of `env`): `data` when nothing sealed went into it;
    else its sealed form (seal)."""
    if is_sealed(source.path):
        rel = str(source.path)
        ciphertext = source.path.read_bytes() if source.kind == "copy" else None
        return seal(data, rel, workspace, target, ciphertext)
    sealed_rel = sealed_for(out, env, reads, workspace)
    return data if sealed_rel is None else seal(data, sealed_rel, workspace, target)


def seal(data: bytes, rel: str, workspace: str | os.PathLike | None, target: str | os.PathLike | None = None,
         ciphertext: bytes | None = None) -> bytes:
    """`data` sealed for the sealed source `rel`: the bytes `target` holds
    already when they decrypt to the same `data` (so an output re-encrypted
    with the same content is not written again, and nothing after it runs),
    else `ciphertext` (a copy's own) or `data` encrypted to the recipients."""
    if target is not None:
        try:
            old = Path(target).read_bytes()
        except OSError:
            old = None
        parts = split_merged(old) if old is not None else None
        if old is not None and parts and parts[0] == rel:
            try:
                if decrypt(parts[1], rel) == data:
                    return old
            except KargoError:
                pass  # made for other recipients: written again
    if ciphertext is None:
        ciphertext = encrypt(data, recipients(workspace))
    return merged_form(rel, ciphertext)


def sealing_folder(workspace: Path | None, bases: Sequence[Any] = ()) -> Path | None:
    """The folder whose `.age-recipients` the files kargo encrypts into
    `.kargo/` are encrypted for: the workspace's when it has one, else the
    nearest base's that has one (`bases`: chain.Base, the farthest first)."""
    if workspace is None:
        return None
    for folder in [workspace, *(base.path for base in reversed(bases))]:
        if (folder / RECIPIENTS).is_file():
            return folder
    return workspace


def _relative(path, workspace):
    try:
        return Path(path).relative_to(workspace).as_posix()
    except (TypeError, ValueError):
        return str(path)


# --- what `plan` says -------------------------------------------------------------------

def sealed_sources(project: Any) -> list[str]:
    """The encrypted files the merged configuration is made from: the
    workspace's (relative, `.env.age` first), then each base's, the nearest
    first, named with their layer (`secrets/db.age (base ../base)`)."""
    if project.workspace is None:
        return []
    found = [ENV_FILE] if (project.workspace / ENV_FILE).is_file() else []
    found += sorted(_relative(s.path, project.workspace) for s in project.overlay.values()
                    if s.layer == "workspace" and is_sealed(s.path))
    for base in reversed(project.bases):
        layer = f"base {base.name}"
        mine = [base.path / ENV_FILE] if (base.path / ENV_FILE).is_file() else []
        mine += sorted(s.path for s in project.overlay.values()
                       if s.layer == layer and is_sealed(s.path))
        found += [f"{_relative(path, base.path)} ({layer})" for path in mine]
    return found
