"""The server is an independent implementation: it must not import the client layers."""

from __future__ import annotations

import ast
from pathlib import Path

import ragflow_integrations.testing as testing

FORBIDDEN = (
    "client",
    "models",
    "errors",
    "_core",
    "_transport",
    "ingest",
    "mapping",
    "langchain",
    "llama_index",
)


def test_no_testing_module_imports_the_client() -> None:
    root = Path(testing.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                module = node.module or ""
                if node.level == 0 and module.startswith("ragflow_integrations"):
                    parts = module.split(".")
                    if len(parts) < 2 or parts[1] != "testing":
                        offenders.append(f"{path.name}: from {module}")
                elif node.level >= 2 and any(module.startswith(f) for f in FORBIDDEN):
                    # "from ..client" inside testing/ would leave the package
                    depth = len(path.relative_to(root).parts)
                    if node.level >= depth:
                        offenders.append(f"{path.name}: from {'.' * node.level}{module}")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    name = alias.name
                    if name.startswith("ragflow_integrations") and not name.startswith(
                        "ragflow_integrations.testing"
                    ):
                        offenders.append(f"{path.name}: import {name}")
    assert offenders == []
