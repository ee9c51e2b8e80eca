"""The graph engine is plain Python: no module in it imports Django."""

import ast
import subprocess
import sys
from pathlib import Path

import workflows.engine

PACKAGE_DIR = Path(workflows.engine.__file__).parent
ROOT = PACKAGE_DIR.parent.parent


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for item in ast.walk(tree):
        if isinstance(item, ast.Import):
            names.update(alias.name for alias in item.names)
        elif isinstance(item, ast.ImportFrom) and item.module:
            names.add(item.module)
    return names


def test_no_module_of_the_engine_imports_django():
    offenders = {
        str(path.relative_to(PACKAGE_DIR)): sorted(
            name for name in imported_modules(path) if name.split(".")[0] == "django")
        for path in sorted(PACKAGE_DIR.rglob("*.py"))
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_importing_the_engine_loads_no_django_module():
    code = ("import sys, workflows.engine, workflows.engine.runner, workflows.engine.validation; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'django'))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, check=True)
    assert result.stdout.strip() == "[]"
