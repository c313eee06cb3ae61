"""The parts of kargo_tasks and the rules between them (docs/architecture.md),
read from every import of the code (module level and inside functions alike,
with `ast`): a change that breaks one fails here, not in a reader's head."""
import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "kargo_tasks"

# bottom first: a part imports only from itself and the parts below it
PARTS = ("base", "workspace", "compose", "engine", "deploy", "operations", "tasks", "commands")
# third-party packages a part never imports
FORBIDDEN = {
    # the model, the compose loader and the engine know no task graph
    "doit": {"workspace", "compose", "engine"},
    # the engine's door is the only one (engine/client.py)
    "docker": {"base", "workspace", "compose", "deploy", "operations", "tasks", "commands"},
}


def modules():
    """{dotted name: path} of kargo_tasks' modules (a package: its __init__)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports(name, path, known):
    """(line, imported name) of every import in a module: kargo's own resolved
    to the module imported (not the package it is imported from), others as
    their top-level package."""
    tree = ast.parse(path.read_text(), str(path))
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package[:len(package) - node.level + 1]
                                + ([node.module] if node.module else []))
            else:
                base = node.module
            for alias in node.names:
                full = f"{base}.{alias.name}"
                yield node.lineno, full if full in known else base


def owner(dotted, known):
    """The kargo module a dotted import name lands in, else None."""
    while dotted and dotted not in known:
        dotted = dotted.rpartition(".")[0]
    return dotted or None


def part_of(module):
    """The part of a kargo_tasks module (None: the package's own __init__)."""
    pieces = module.split(".")
    return pieces[1] if len(pieces) > 1 else None


def graph():
    known = modules()
    edges = {}
    for name, path in known.items():
        for line, target in imports(name, path, known):
            edges.setdefault(name, []).append((line, target))
    return known, edges


def test_every_module_lives_in_a_part():
    known = modules()
    stray = [name for name in known if name != "kargo_tasks" and part_of(name) not in PARTS]
    assert not stray, f"modules outside the parts {PARTS}: {stray}"


def test_each_part_says_what_it_owns_and_never_does():
    for part in PARTS:
        doc = ast.get_docstring(ast.parse((PACKAGE / part / "__init__.py").read_text()))
        assert doc and "never" in doc.lower(), f"kargo_tasks/{part}/__init__.py: no docstring " \
            "saying what the part owns and what it never does"


def test_nothing_imports_upwards():
    known, edges = graph()
    wrong = []
    for name, targets in edges.items():
        here = part_of(name)
        for line, target in targets:
            if target.split(".")[0] == "kargo_commands":
                wrong.append(f"{known[name].relative_to(ROOT)}:{line}: imports {target}")
                continue
            module = owner(target, known)
            if module is None or module == "kargo_tasks" or here is None:
                continue
            there = part_of(module)
            if PARTS.index(there) > PARTS.index(here):
                wrong.append(f"{known[name].relative_to(ROOT)}:{line}: {here} imports "
                             f"{module} ({there} is above {here})")
    assert not wrong, "\n".join(wrong)


def test_no_circle():
    known, edges = graph()
    arrows = {name: sorted({owner(t, known) for _, t in targets} - {None, name})
              for name, targets in edges.items()}
    index, low, stack, on, circles = {}, {}, [], set(), []

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in arrows.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                circles.append(sorted(group))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(known)))
    for name in known:
        if name not in index:
            visit(name)
    assert not circles, f"modules importing each other: {circles}"


@pytest.mark.parametrize("library", sorted(FORBIDDEN))
def test_a_part_never_imports_what_it_must_not_know(library):
    known, edges = graph()
    wrong = [f"{known[name].relative_to(ROOT)}:{line}: {part_of(name)} imports {target}"
             for name, targets in edges.items() for line, target in targets
             if target.split(".")[0] == library and part_of(name) in FORBIDDEN[library]]
    assert not wrong, "\n".join(wrong)


def test_kargo_commands_imports_no_kargo_code_at_load():
    """doit loads its plugins before the dodo file: a kargo_tasks imported then
    would be the installed one, not the checkout's (kargo_commands.py)."""
    tree = ast.parse((ROOT / "kargo_commands.py").read_text())
    top = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    names = [a.name for n in top if isinstance(n, ast.Import) for a in n.names]
    names += [n.module or "" for n in top if isinstance(n, ast.ImportFrom)]
    assert not [name for name in names if name.split(".")[0] == "kargo_tasks"]


def test_what_crosses_a_part_has_type_hints():
    """Every function one part imports from another (by name, or as an
    attribute of the module it imports) says its parameters' types and its
    return type: the seams are read, not guessed (mypy checks them)."""
    known = modules()
    crossing = set()
    for name, path in known.items():
        tree = ast.parse(path.read_text())
        aliases = {}
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom):
                continue
            base = (".".join(package[:len(package) - node.level + 1]
                             + ([node.module] if node.module else []))
                    if node.level else node.module)
            for alias in node.names:
                full = f"{base}.{alias.name}"
                if full in known:
                    aliases[alias.asname or alias.name] = full
                elif base in known and part_of(base) != part_of(name):
                    crossing.add((base, alias.name))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                    and node.value.id in aliases and part_of(aliases[node.value.id]) != part_of(name):
                crossing.add((aliases[node.value.id], node.attr))
    bare = []
    for module, attr in sorted(crossing):
        for node in ast.parse(known[module].read_text()).body:
            if isinstance(node, ast.FunctionDef) and node.name == attr:
                args = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
                if node.returns is None or any(a.annotation is None for a in args):
                    bare.append(f"{known[module].relative_to(ROOT)}:{node.lineno}: {attr}")
    assert not bare, "functions used by another part, without type hints:\n" + "\n".join(bare)


def test_the_architecture_document_names_every_part():
    text = (ROOT / "docs" / "architecture.md").read_text()
    missing = [part for part in PARTS if f"`{part}/`" not in text]
    assert not missing, f"docs/architecture.md does not name {missing}"
