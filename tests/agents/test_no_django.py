"""`agents.llm` is plain Python: the engine and workers can use it without Django."""

import ast
import subprocess
import sys
from pathlib import Path

import agents.llm

PACKAGE_DIR = Path(agents.llm.__file__).parent


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_no_module_in_agents_llm_imports_django():
    offenders = {
        str(path.relative_to(PACKAGE_DIR)): sorted(
            name for name in imported_modules(path) if name.split(".")[0] == "django"
        )
        for path in sorted(PACKAGE_DIR.rglob("*.py"))
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_importing_agents_llm_loads_no_django_module():
    code = (
        "import sys, agents.llm, agents.llm.agent_loop; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'django'))"
    )
    root = PACKAGE_DIR.parent.parent
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
