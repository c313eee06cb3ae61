"""Dependency order, by the standard library's graphlib.TopologicalSorter."""
import functools
from collections.abc import Callable, Hashable, Iterable, Sequence
from graphlib import TopologicalSorter
from typing import TypeVar

Node = TypeVar("Node", bound=Hashable)


def dependencies_first(roots: Iterable[Node],
                       depends: Callable[[Node], Sequence[Node]]) -> list[Node]:
    """Every node `roots` needs, each once and after the nodes it depends on
    (`depends(node)`: its dependencies, in the order they are wanted).

    The order is the one of a depth-first walk from `roots` in their order
    (each node placed once its dependencies are): doit runs tasks in it, and
    kargo deploys stacks in it (STACKS order, a stack's dependencies right
    before it when STACKS lists them after). Of the nodes ready at each step
    the sorter gives the one that walk would reach first: the one whose first
    path from a root (the positions taken at each step) is smallest.
    graphlib.CycleError on a cycle."""
    roots = list(dict.fromkeys(roots))
    graph: dict[Node, list[Node]] = {}
    todo = list(roots)
    while todo:
        node = todo.pop()
        if node not in graph:
            graph[node] = list(depends(node))
            todo.extend(graph[node])
    sorter = TopologicalSorter(graph)
    sorter.prepare()
    needed_by: dict[Node, list[Node]] = {node: [] for node in graph}
    for node, deps in graph.items():
        for dep in dict.fromkeys(deps):
            needed_by[dep].append(node)
    start = {node: i for i, node in enumerate(roots)}

    @functools.cache
    def first_path(node):
        paths = [path_of + (graph[parent].index(node),)
                 for parent in needed_by[node] for path_of in [first_path(parent)]]
        if node in start:
            paths.append((start[node],))
        return min(paths)

    ready: list[Node] = []
    result: list[Node] = []
    while sorter.is_active():
        ready = sorted([*ready, *sorter.get_ready()], key=first_path)
        node = ready.pop(0)
        result.append(node)
        sorter.done(node)
    return result
