"""Configs and secrets made from sealed merged files (workspace/sealed.py),
created on the engine from memory: the plaintext is decrypted here and handed
to the API, never written to a file the CLI would read. Named and labelled as
the CLI names a stack's own (a content hash, the namespace label), so prune,
drift and rollback treat them as any other."""
import hashlib
from typing import Any

from kargo_tasks.base.errors import EngineError, KargoError
from kargo_tasks.compose import shortsyntax
from kargo_tasks.engine import client as engine
from kargo_tasks.workspace import sealed
from kargo_tasks.workspace.namespace import LABEL as NAMESPACE


def create(doc: dict[str, Any], names: list[str] | set[str], existing: set[str],
           project: str) -> set[str]:
    """Create, from memory, the configs and secrets of the services `names`
    of `doc` that are made from sealed merged files and that the engine does
    not have yet; returns their names (the stack file then declares them
    external, as delta.subset does for every config it has)."""
    made = set()
    for kind in ("configs", "secrets"):
        used = {shortsyntax.reference(ref)["source"]
                for name in names for ref in doc["services"][name].get(kind) or ()}
        for key, item in (doc.get(kind) or {}).items():
            if key not in used or not isinstance(item, dict) or not item.get("file"):
                continue
            name = item.get("name")
            if not name or name in existing or not sealed.is_sealed_merged(item["file"]):
                continue
            data = sealed.read_merged(item["file"])
            suffix = name.rsplit("_", 1)[-1]
            if len(suffix) == 12 and hashlib.sha256(data).hexdigest()[:12] != suffix \
                    and name.startswith(f"{project}_"):
                raise KargoError(f"{kind[:-1]} {key}: its file changed since the stack file "
                                 "was resolved (deploy again)", where=item["file"])
            labels = {**shortsyntax.labels(item.get("labels")), NAMESPACE: project}
            api = engine.client().api
            try:
                if kind == "secrets":
                    engine.call(f"create secret {name}", api.create_secret, name, data,
                                labels=labels, driver=item.get("driver"))
                else:
                    templating = ({"name": item["template_driver"]}
                                  if item.get("template_driver") else None)
                    engine.call(f"create config {name}", api.create_config, name, data,
                                labels=labels, templating=templating)
            except EngineError as err:
                # another deploy (a `doit -n` worker) made it since the list
                if "already exists" not in str(err):
                    raise
            made.add(name)
    return made

