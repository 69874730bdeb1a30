"""The layout shows the layers: what each package may import, no import circles, no huge files."""

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "ginn_gl"
FORBIDDEN = {  # third-party packages a layer must not load, directly or through what it imports
    "core": {"torch", "moderngl", "glfw", "imgui_bundle"},
    "train": {"moderngl", "glfw", "imgui_bundle"},
    "render": {"torch", "glfw", "imgui_bundle"},
}
ALLOWED = {  # the project's layers each layer may import (cli wires them all)
    "core": {"core"},
    "train": {"core", "train"},
    "render": {"core", "render"},
    "ui": {"core", "render", "ui"},
    "cli": {"core", "train", "render", "ui", "cli"},
    "api": {"core", "train", "render", "ui", "cli", "api"},  # the Python API wires the layers as the CLI does
}
HEAVY = {"torch", "moderngl", "glfw", "imgui_bundle"}
MAX_LINES = 450


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in ALLOWED else None


def project_imports(path: Path) -> set[str]:
    """ginn_gl modules that a file imports, at the top or inside functions."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in names if name.startswith("ginn_gl")}


def test_each_layer_loads_only_what_it_may():
    wanted = [name for name in modules() if layer_of(name) in FORBIDDEN]
    assert len(wanted) > 15
    code = ("import importlib, json, sys; importlib.import_module(sys.argv[1]); "
            "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))")
    procs = {name: subprocess.Popen([sys.executable, "-c", code, name], stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True) for name in wanted}
    problems = []
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, f"{name}: {err}"
        loaded = set(json.loads(out))
        bad = FORBIDDEN[layer_of(name)] & loaded
        if bad:
            problems.append(f"{name} loads {sorted(bad)}")
    assert not problems, problems


def test_layers_import_downwards_only_and_without_circles():
    found = modules()
    # Python imports a package before any module in it, so an edge into the root package (`from ginn_gl
    # import __version__`) is not an import order; the root itself is held to the version first and the
    # API's light modules next by test_the_root_package_is_light_and_defines_the_version_first.
    graph = {name: {m for m in project_imports(path) if m in found} - {name, "ginn_gl"} for name, path in found.items()}
    wrong = [f"{name} -> {other}" for name, others in graph.items() for other in others
             if layer_of(name) and layer_of(other) and layer_of(other) not in ALLOWED[layer_of(name)]]
    assert not wrong, wrong

    visiting, done = [], set()

    def visit(node):  # depth first: an edge back to a module still being visited closes a circle
        if node in visiting:
            pytest.fail(f"import circle: {' -> '.join(visiting[visiting.index(node):] + [node])}")
        if node in done:
            return
        visiting.append(node)
        for other in sorted(graph[node]):
            visit(other)
        visiting.pop()
        done.add(node)

    for name in sorted(graph):
        visit(name)


def test_no_file_is_too_long():
    lengths = {path.relative_to(PACKAGE.parent): len(path.read_text().splitlines()) for path in modules().values()}
    assert not {str(path): n for path, n in lengths.items() if n > MAX_LINES}


def test_the_root_package_is_light_and_defines_the_version_first():
    """`import ginn_gl` (the public API) loads none of torch, OpenGL or the window, defines __version__ before
    it imports anything (the trainer and the CLI read it from there), imports only the API and the
    train subpackage, and `ginn_gl.train` stays the function once the trainer is loaded."""
    tree = ast.parse((PACKAGE / "__init__.py").read_text())
    statements = [node for node in tree.body if not isinstance(node, ast.Expr)]  # past the docstring
    assert isinstance(statements[0], ast.Assign) and statements[0].targets[0].id == "__version__"
    imported = project_imports(PACKAGE / "__init__.py")
    assert imported and all(name.startswith(("ginn_gl.api", "ginn_gl.train")) for name in imported), imported
    assert all(not name.startswith("ginn_gl.train.") for name in imported), imported  # the package only: it is light
    code = ("import json, sys, ginn_gl; loaded = sorted({m.split('.')[0] for m in sys.modules}); "
            "from ginn_gl.train.trainer import Trainer; "
            "print(json.dumps([loaded, callable(ginn_gl.train), ginn_gl.train.__module__, sorted(ginn_gl.__all__)]))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    loaded, callable_train, module, public = json.loads(result.stdout)
    assert not HEAVY & set(loaded), sorted(HEAVY & set(loaded))
    assert callable_train and module == "ginn_gl.api.training"
    assert public == ["Network", "Recorder", "Run", "Watcher", "__version__", "load", "train", "watch"]
