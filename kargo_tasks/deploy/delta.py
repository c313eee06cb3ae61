"""Which services of a resolved stack file the engine must be sent.

`docker stack deploy` sends every service of its file, and the engine takes
each one as a new version (and each config and secret it names as an update)
even when nothing in it changed. kargo sends a file with only the services
that differ from what runs, and removes the services the stack no longer has
itself, so a change costs exactly the engine operations it needs.

A service differs when it is new; when its `org.kargo.spec` label (a digest of
its resolved definition, config and secret names included) changed; when its
spec version is not the one kargo's last deploy left (changed outside kargo;
or sent by a deploy that failed, when its spec is the one a later deploy
that failed left); or when its image reference now resolves to another
digest (a rebuilt image).
Without a record of the last deploy (lost), the label and the image decide:
a change made outside kargo since is then not seen.
"""
import hashlib
import json
from collections.abc import Mapping

from kargo_tasks.compose.resolve import SPEC_LABEL
from kargo_tasks.compose.shortsyntax import reference
from kargo_tasks.workspace.namespace import Namespace


# a service as kargo's own deploy left it, one that did not converge (or
# whose after hook failed): not a change made outside kargo
SENT_BY_FAILED_DEPLOY = "sent by a deploy that failed"


def to_send(doc: Mapping, namespace: Namespace, deployed: Mapping[str, dict],
            record: Mapping | None, digests: Mapping[str, str | None],
            unconverged: Mapping[str, str] | None = None
            ) -> tuple[dict[str, str], list[str]]:
    """({service: why} to send, [full names of services to remove]).

    `deployed`: {full name: engine service} of the stack; `record`: {full
    name: [id, version]} that kargo's last deploy left, None when there is no
    record; `digests`: {image reference: registry digest or None when unknown};
    `unconverged`: {full name: spec_digest} a later deploy that failed left."""
    services = doc.get("services") or {}
    send = {}
    for name, spec in services.items():
        why = _why(spec, deployed.get(namespace.scope(name)), record, digests, unconverged or {})
        if why:
            send[name] = why
    remove = sorted(set(deployed) - {namespace.scope(name) for name in services})
    return send, remove


def spec_digest(engine_spec: Mapping) -> str:
    """A digest of a service's engine spec: what kargo's own failed deploy
    left, told apart from a change made since. The engine's own updates of a
    service (its update status: paused, completed) bump its version, never
    its spec."""
    return hashlib.sha256(json.dumps(engine_spec, sort_keys=True).encode()).hexdigest()[:32]


def left_by_failed_deploy(service: Mapping, unconverged: Mapping[str, str]) -> bool:
    """Whether engine `service` is as a deploy that failed left it."""
    name = service["Spec"]["Name"]
    return name in unconverged and unconverged[name] == spec_digest(service["Spec"])


def _why(spec, service, record, digests, unconverged):
    if service is None:
        return "new"
    engine_spec = service["Spec"]
    wanted = ((spec.get("deploy") or {}).get("labels") or {}).get(SPEC_LABEL)
    if (engine_spec.get("Labels") or {}).get(SPEC_LABEL) != wanted:
        return "changed"
    if record is not None and \
            record.get(engine_spec["Name"]) != [service["ID"], service["Version"]["Index"]]:
        return SENT_BY_FAILED_DEPLOY if left_by_failed_deploy(service, unconverged) \
            else "changed outside kargo"
    image = engine_spec.get("TaskTemplate", {}).get("ContainerSpec", {}).get("Image", "")
    digest = digests.get(spec.get("image"))
    if digest and image.partition("@")[2] != digest:
        return "image replaced"
    return None


def subset(doc, names, existing):
    """The stack file with only the services `names`. Configs and secrets that
    already exist (`existing`: their engine names) are declared external, so
    the engine is not asked to update them."""
    out = {key: value for key, value in doc.items() if key not in ("services", "configs", "secrets")}
    out["services"] = {name: doc["services"][name] for name in names}
    for kind in ("configs", "secrets"):
        used = {reference(ref)["source"]
                for spec in out["services"].values() for ref in spec.get(kind) or ()}
        items = {}
        for key, item in (doc.get(kind) or {}).items():
            if key in used:
                name = (item or {}).get("name")
                items[key] = {"external": True, "name": name} if name in existing else item
        if items:
            out[kind] = items
    return out


def summary(send, remove, namespace):
    """One line: what the deploy sends and removes, and why."""
    parts = [f"{name} ({why})" for name, why in send.items()]
    parts += [f"{namespace.descope(name)} (removed)" for name in remove]
    return ", ".join(parts) if parts else "no service changed"
