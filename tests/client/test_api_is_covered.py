"""Every public method of the client objects is called by the cassette tests of this folder.

A guard for new methods: add one, and this fails until a test in tests/client calls it. Local
helpers that send nothing of their own are only required to be called somewhere under tests/.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
from pydantic import BaseModel

import ragflow_integrations as ri

TESTS = Path(__file__).resolve().parents[1]
CLASSES = [
    ri.RAGFlow,
    ri.AsyncRAGFlow,
    ri.DataSet,
    ri.AsyncDataSet,
    ri.Document,
    ri.AsyncDocument,
    ri.Chunk,
    ri.AsyncChunk,
    ri.Chat,
    ri.AsyncChat,
    ri.Session,
    ri.AsyncSession,
    ri.Agent,
    ri.AsyncAgent,
    ri.Message,
    ri.AsyncMessage,
    ri.Memory,
    ri.AsyncMemory,
]
LOCAL_HELPERS = {"with_options", "to_async", "to_sync", "wrap", "ParserConfig"}


def _public_methods(cls: type) -> list[str]:
    return [
        name
        for name, member in inspect.getmembers(cls)
        if not name.startswith("_")
        and callable(member)
        and not (issubclass(cls, BaseModel) and hasattr(BaseModel, name))
    ]


def _called(name: str, text: str) -> bool:
    return re.search(rf"\.{name}\(", text) is not None


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__name__)
def test_every_public_method_is_called_by_a_client_test(cls: type) -> None:
    client_tests = "".join(p.read_text(encoding="utf-8") for p in (TESTS / "client").glob("*.py"))
    all_tests = "".join(p.read_text(encoding="utf-8") for p in TESTS.rglob("*.py"))
    methods = _public_methods(cls)
    assert methods, f"{cls.__name__} lists its methods"
    missing = [
        name
        for name in methods
        if not _called(name, all_tests if name in LOCAL_HELPERS else client_tests)
    ]
    assert missing == [], f"{cls.__name__}: no test calls {missing}"
