"""The package's layers hold: nothing imports upward, labsupport never imports the producer, no cycles.

Read from the sources with ``ast`` (every import, inside functions too), so the rule covers the
lazy imports that keep ``import labsupport.x`` cheap. A new module must be given a layer here;
that is the moment to decide what it may use.

Bottom to top (a module may use its own layer and those below it):

1. **bottom**: settings, schemas, the event contract, errors, durations, checkpoint files —
   plain Python, no Spark session, no Kafka client;
2. **runtime**: Java, jars, the embedded broker, Kafka topics and offsets, the Spark session;
3. **lesson code**: the pipeline's DataFrame functions, the late-data rule, the SQL checks,
   the check framework;
4. **wiring**: the streaming queries, observing them, watching them, their charts;
5. **lesson tools**: what the notebooks call to demonstrate, operate and grade;
6. **top**: the command line.

The producer stands beside the package and uses only its bottom: ``config``, ``schema``,
``errors``, ``contract``, ``durations``.

Each name has one import path: wherever the lab imports ``from labsupport.x import name`` (the
packages, the tests, the notebooks and their solutions), ``x`` is the module that defines it.
The producer's one public surface is ``producer/__init__.py``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest

from labsupport.config import PROJECT_ROOT

LAYERS: list[set[str]] = [
    {"errors", "durations", "net", "config", "schema", "contract", "versions", "checkpoint",
     "folders", "env", "arguments", "machine", "interpreter", "processes"},
    {"java", "jars", "bundle", "bundle_wheels", "broker", "cluster", "broker_login", "topics", "spark"},
    {"pipeline", "plans", "predict", "queries", "checks.core"},
    {"runner", "observe", "live", "charts", "phased", "listener"},
    {
        "pipeline_process", "exactly_once", "idempotency", "maintenance", "output_modes",
        "compare", "index", "score", "lesson", "preflight", "checks", "source", "catch_up",
        "checkpoint_charts",
        *(f"checks.lesson{n:02d}" for n in range(8)),
    },
    {"commands", "cli", "__main__", "__init__"},
]  # fmt: skip
PRODUCER_MAY_USE = {
    "config", "schema", "errors", "contract", "durations", "arguments", "interpreter",
}  # fmt: skip
MAX_LINES = 450


def _modules(package: str) -> dict[str, Path]:
    root = PROJECT_ROOT / package
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _imports(path: Path) -> set[str]:
    """Every ``labsupport.*`` / ``producer.*`` module a file imports (``from x import y`` → x or x.y)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {n for n in names if n.split(".")[0] in {"labsupport", "producer"}}


LABSUPPORT = _modules("labsupport")
PRODUCER = _modules("producer")


def _internal(imported: set[str], package: str, modules: dict[str, Path]) -> set[str]:
    prefix = f"{package}."
    return {
        n[len(prefix) :] for n in imported if n.startswith(prefix) and n[len(prefix) :] in modules
    }


def _layer(module: str) -> int:
    return next(i for i, layer in enumerate(LAYERS) if module in layer)


def test_every_module_has_a_layer() -> None:
    placed = set().union(*LAYERS)
    assert sorted(set(LABSUPPORT) - placed) == [], "give each new module a layer in LAYERS"
    assert sorted(placed - set(LABSUPPORT)) == [], "LAYERS names modules that no longer exist"


@pytest.mark.parametrize("module", sorted(LABSUPPORT))
def test_labsupport_imports_only_its_own_layer_and_below(module: str) -> None:
    imported = _imports(LABSUPPORT[module])
    assert not {n for n in imported if n.split(".")[0] == "producer"}, (
        "labsupport never imports producer"
    )
    upward = sorted(
        (other, _layer(other))
        for other in _internal(imported, "labsupport", LABSUPPORT)
        if _layer(other) > _layer(module)
    )
    assert upward == [], f"{module} (layer {_layer(module) + 1}) imports from above: {upward}"


@pytest.mark.parametrize("module", sorted(PRODUCER))
def test_the_producer_uses_only_the_bottom_of_labsupport(module: str) -> None:
    used = _internal(_imports(PRODUCER[module]), "labsupport", LABSUPPORT)
    assert used <= PRODUCER_MAY_USE, f"producer.{module} uses {sorted(used - PRODUCER_MAY_USE)}"


@pytest.mark.parametrize("package,modules", [("labsupport", LABSUPPORT), ("producer", PRODUCER)])
def test_no_import_cycles(package: str, modules: dict[str, Path]) -> None:
    graph = {m: _internal(_imports(path), package, modules) - {m} for m, path in modules.items()}
    graph = {m: {o for o in edges if o != "__init__"} for m, edges in graph.items()}
    state: dict[str, str] = {}

    def visit(module: str, trail: list[str]) -> None:
        state[module] = "open"
        for other in sorted(graph[module]):
            if state.get(other) == "open":
                raise AssertionError(f"import cycle: {' → '.join([*trail, module, other])}")
            if other not in state:
                visit(other, [*trail, module])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [])


@pytest.mark.parametrize(
    "path",
    [*LABSUPPORT.values(), *PRODUCER.values()],
    ids=lambda path: str(path.relative_to(PROJECT_ROOT)),
)
def test_no_module_is_a_grab_bag(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.name} has {lines} lines: split it by concern"


def _defined(path: Path) -> set[str]:
    """Names a module binds at its top level with ``def``, ``class`` or an assignment."""
    names: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                targets = target.elts if isinstance(target, ast.Tuple) else [target]
                names.update(t.id for t in targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def _sources() -> list[tuple[str, str]]:
    """``(where, code)`` for every place that imports from the lab: packages, tests, notebooks."""
    files = [
        *LABSUPPORT.values(),
        *PRODUCER.values(),
        *(PROJECT_ROOT / "tests").glob("*.py"),
        *(PROJECT_ROOT / "bench").glob("*.py"),
        *(PROJECT_ROOT / "notebooks" / "solutions").glob("*.py"),
    ]
    sources = [
        (str(path.relative_to(PROJECT_ROOT)), path.read_text(encoding="utf-8")) for path in files
    ]
    for notebook in sorted((PROJECT_ROOT / "notebooks").glob("*.ipynb")):
        cells = nbformat.read(notebook, as_version=4).cells
        code = "\n".join(c.source for c in cells if c.cell_type == "code")
        sources.append((notebook.name, code.replace("%", "#")))  # IPython magics are not Python
    return sources


@pytest.mark.parametrize("where,code", _sources(), ids=[where for where, _ in _sources()])
def test_every_import_names_the_module_that_defines_it(where: str, code: str) -> None:
    homes = {f"labsupport.{m}": p for m, p in LABSUPPORT.items()}
    homes.update({f"producer.{m}": p for m, p in PRODUCER.items() if m != "__init__"})
    elsewhere = []
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.ImportFrom) and node.module in homes:
            defined = _defined(homes[node.module])
            for alias in node.names:
                if f"{node.module}.{alias.name}" not in homes and alias.name not in defined:
                    elsewhere.append(f"{alias.name} from {node.module}")
    assert elsewhere == [], f"{where} imports names from a module that does not define them"


@pytest.mark.parametrize(
    "path",
    [*LABSUPPORT.values(), *(p for m, p in PRODUCER.items() if m != "__init__")],
    ids=lambda path: str(path.relative_to(PROJECT_ROOT)),
)
def test_a_module_exports_only_what_it_defines(path: Path) -> None:
    exported: list[str] = []
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            exported = list(ast.literal_eval(node.value))
    assert sorted(set(exported) - _defined(path)) == [], "export names from their own module"
