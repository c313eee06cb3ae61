"""Dependency order (base/graphs.py): graphlib's sorter, driven so that the
order is the depth-first walk's that doit runs tasks in and kargo deploys
STACKS in, not just any order with dependencies first."""
import graphlib

import pytest
from hypothesis import given, strategies as st

from kargo_tasks.base.graphs import dependencies_first


def walk(roots, depends):
    """The reference: a depth-first walk, each node placed after its dependencies."""
    seen, result = set(), []

    def visit(node):
        if node not in seen:
            seen.add(node)
            for dep in depends(node):
                visit(dep)
            result.append(node)

    for node in roots:
        visit(node)
    return result


@st.composite
def graphs(draw):
    """(roots, {node: dependencies}) of a random acyclic graph."""
    size = draw(st.integers(1, 9))
    deps = {i: draw(st.lists(st.integers(0, i - 1), unique=True, max_size=i)) if i else []
            for i in range(size)}
    names = draw(st.permutations(list(range(size))))
    renamed = {names[i]: [names[d] for d in ds] for i, ds in deps.items()}
    roots = draw(st.lists(st.sampled_from(sorted(renamed)), max_size=5))
    return roots, renamed


@given(graphs())
def test_the_order_is_the_depth_first_walks(graph):
    roots, deps = graph
    assert dependencies_first(roots, deps.__getitem__) == walk(roots, deps.__getitem__)


def test_a_dependency_listed_later_comes_right_before_its_dependent():
    # STACKS="a b c", a depends on c: a plain TopologicalSorter would give b c a
    deps = {"a": ["c"], "b": [], "c": []}
    assert dependencies_first(["a", "b", "c"], deps.__getitem__) == ["c", "a", "b"]


def test_a_cycle_is_refused():
    with pytest.raises(graphlib.CycleError):
        dependencies_first(["a"], {"a": ["b"], "b": ["a"]}.__getitem__)
