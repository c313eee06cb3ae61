"""labels.merged_labels: what the labels task writes on a node."""
from kargo_tasks.engine.labels import managed_key, merged_labels

A, B = managed_key("/srv/kargo-a"), managed_key("/srv/kargo-b")


def test_a_root_records_and_removes_only_its_own_keys():
    node = {"manual": "keep"}
    node = merged_labels(node, {"role": "db", "zone": "a"}, A)
    assert node == {"manual": "keep", "role": "db", "zone": "a", A: "role,zone"}
    node = merged_labels(node, {"role": "db"}, A)  # zone dropped from the env
    assert node == {"manual": "keep", "role": "db", A: "role"}
    assert merged_labels(node, {}, A) == {"manual": "keep"}


def test_two_roots_on_one_cluster_keep_each_others_labels():
    node = merged_labels({}, {"role": "db"}, A)
    node = merged_labels(node, {"tier": "web"}, B)  # B's env does not name role
    assert node == {"role": "db", A: "role", "tier": "web", B: "tier"}
    assert merged_labels(node, {"role": "db"}, A) == node  # nothing to do for A
    assert merged_labels(node, {}, B) == {"role": "db", A: "role"}


def test_the_record_is_per_root_path():
    assert A != B and A.startswith("org.kargo.managed.")
    assert managed_key("/srv/kargo-a/") == A
