"""The labels of this machine's node (the manager), read and set around the
tests that change them."""
import time


def manager_node(client):
    node = client.nodes.list()[0]
    node.reload()
    return node


def node_labels(client):
    return dict(manager_node(client).attrs["Spec"].get("Labels") or {})


def set_node_labels(client, change):
    """Apply {key: value or None (= remove)} to the node's labels, retrying
    on a version conflict (someone else may update the node meanwhile)."""
    for _ in range(10):
        node = manager_node(client)
        spec = dict(node.attrs["Spec"])
        labels = dict(spec.get("Labels") or {})
        for key, value in change.items():
            if value is None:
                labels.pop(key, None)
            else:
                labels[key] = value
        spec["Labels"] = labels
        try:
            client.api.update_node(node.id, node.attrs["Version"]["Index"], spec)
            return
        except Exception as exc:  # out of sequence: read again
            error = exc
            time.sleep(0.2)
    raise error
