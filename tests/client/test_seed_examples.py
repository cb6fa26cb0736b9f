"""Every code example of the seed API reference, run against the local server (live, loopback).

Each example runs as written with ``from ragflow import RAGFlow`` replaced by
``from ragflow_integrations import RAGFlow`` and the ``<YOUR_API_KEY>`` / ``<YOUR_BASE_URL>``
placeholders filled in. Examples that are broken as written (placeholder ids, undefined names,
a list where an object belongs, an ``input()`` loop) run with the minimal fixes listed in
``FIXES``; the same list is in docs/client.md ("Seed examples"). Examples that start with
``rag_object = ...`` run in a fresh namespace; continuation snippets share the previous one, as
in a REPL session.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ragflow_integrations.testing import LocalRAGFlowServer

from .seed_examples import SEED_EXAMPLES

pytestmark = pytest.mark.live

API_KEY = "ragflow-seed-examples-key"


@dataclass(frozen=True)
class Fix:
    """A minimal change to a broken example: replace ``old`` with ``new`` (``why`` goes to docs)."""

    old: str
    new: str
    why: str


@dataclass
class Step:
    index: int
    setup: str = ""  # run before the example, in its namespace (creates what placeholders name)
    fixes: list[Fix] = field(default_factory=list)


PLACEHOLDER_IDS = "placeholder ids replaced by the ids of real objects"
# Example 8 creates a second "kb_1" (the server renames it "kb_1(1)") holding ragflow.txt: the
# chunk examples use whichever dataset holds that document.
DOC_SETUP = (
    "_kb_1 = next(d for d in rag_object.list_datasets()\n"
    '             if d.list_documents(keywords="ragflow.txt"))\n'
    '_doc = _kb_1.list_documents(keywords="ragflow.txt")[0].id\n'
    "_kb_1 = _kb_1.id"
)
IMPORT = "from ragflow_integrations import RAGFlow\n"
NO_IMPORT = "`RAGFlow` is used without an import"

# Examples run in this order: 18 (creates "Miss R", then renames it "Stefan") before 17 (creates
# "Miss R" again), otherwise the second create_chat("Miss R") hits the duplicate-name error.
STEPS: list[Step] = [
    Step(0),
    Step(
        1,
        setup='_doomed = [rag_object.create_dataset(name=n).id for n in ("tmp_a", "tmp_b")]',
        fixes=[Fix('ids=["id_1","id_2"]', "ids=_doomed", PLACEHOLDER_IDS)],
    ),
    Step(2),
    Step(
        3,
        setup='_kb_1 = rag_object.list_datasets(name="kb_1")[0].id',
        fixes=[Fix('id = "id_1"', "id = _kb_1", PLACEHOLDER_IDS)],
    ),
    Step(
        4,
        fixes=[
            Fix(
                'list_datasets(name="kb_name")',
                'list_datasets(name="kb_1")[0]',
                "list_datasets returns a list (take [0]); kb_name is created only by "
                "the next example, so the dataset of the first example is used",
            )
        ],
    ),
    Step(5),
    Step(
        6,
        setup=(
            '_kb_name = rag_object.list_datasets(name="kb_name")[0]\n'
            '_doc = _kb_name.list_documents(name="1.txt")[0].id\n_kb_name = _kb_name.id'
        ),
        fixes=[
            Fix("id='id'", "id=_kb_name", PLACEHOLDER_IDS),
            Fix('id="wdfxb5t547d"', "id=_doc", PLACEHOLDER_IDS),
        ],
    ),
    Step(
        7,
        setup=(
            '_kb_name = rag_object.list_datasets(name="kb_name")[0]\n'
            '_doc = _kb_name.list_documents(name="1.txt")[0].id\n_kb_name = _kb_name.id'
        ),
        fixes=[
            Fix('id="id"', "id=_kb_name", PLACEHOLDER_IDS),
            Fix('id="wdfxb5t547d"', "id=_doc", PLACEHOLDER_IDS),
        ],
    ),
    Step(8),
    Step(
        9,
        setup=(
            '_two = [d.id for d in rag_object.list_datasets(name="kb_1")[0].upload_documents(\n'
            '    [{"display_name": "x1.txt", "blob": b"one"}, '
            '{"display_name": "x2.txt", "blob": b"two"}])]'
        ),
        fixes=[Fix('ids=["id_1","id_2"]', "ids=_two", PLACEHOLDER_IDS)],
    ),
    Step(10, fixes=[Fix("rag_object = RAGFlow(", IMPORT + "rag_object = RAGFlow(", NO_IMPORT)]),
    Step(11, fixes=[Fix("rag_object = RAGFlow(", IMPORT + "rag_object = RAGFlow(", NO_IMPORT)]),
    Step(
        12,
        setup=DOC_SETUP,
        fixes=[
            Fix('id="123"', "id=_kb_1", PLACEHOLDER_IDS),
            Fix('id="wdfxb5t547d"', "id=_doc", PLACEHOLDER_IDS),
            Fix(
                "dtaset = dataset[0]",
                "dataset = dataset[0]",
                "typo `dtaset` leaves `dataset` a list",
            ),
        ],
    ),
    Step(
        13,
        setup=DOC_SETUP,
        fixes=[
            Fix(
                'list_datasets("123")',
                "list_datasets(id=_kb_1)",
                "the positional argument is `page`, not an id; placeholder id",
            ),
            Fix('["wdfxb5t547d"]', "[_doc]", PLACEHOLDER_IDS),
            Fix(
                "for chunk in doc.list_chunks(",
                "doc = dataset.list_documents(id=_doc)[0]\nfor chunk in doc.list_chunks(",
                "`doc` is undefined in the example",
            ),
        ],
    ),
    Step(
        14,
        setup=DOC_SETUP,
        fixes=[
            Fix('id="123"', "id=_kb_1", PLACEHOLDER_IDS),
            Fix('id="wdfxb5t547d"', "id=_doc", PLACEHOLDER_IDS),
            Fix(
                'doc.delete_chunks(["id_1","id_2"])',
                "doc.delete_chunks([chunk.id])",
                PLACEHOLDER_IDS,
            ),
        ],
    ),
    Step(
        15,
        setup=DOC_SETUP,
        fixes=[
            Fix('id="123"', "id=_kb_1", PLACEHOLDER_IDS),
            Fix('id="wdfxb5t547d"', "id=_doc", PLACEHOLDER_IDS),
        ],
    ),
    Step(16, setup='rag_object.create_dataset(name="ragflow")'),
    # create_chat needs datasets with parsed documents; "kb_1" is empty by now.
    Step(
        18,
        setup=(
            '_kb_1 = rag_object.list_datasets(name="kb_1")[0]\n'
            '_new = _kb_1.upload_documents([{"display_name": "about.txt", "blob": '
            'b"RAGFlow is an open-source RAG engine based on deep document understanding."}])\n'
            "_kb_1.parse_documents([d.id for d in _new], poll_interval=0.05)"
        ),
    ),
    Step(17),
    Step(
        19,
        setup='_chats = [rag_object.create_chat(n).id for n in ("tmp chat a", "tmp chat b")]',
        fixes=[Fix('ids=["id_1","id_2"]', "ids=_chats", PLACEHOLDER_IDS)],
    ),
    Step(20),
    Step(21),
    Step(22),
    Step(23),
    Step(
        24,
        setup=(
            '_chat = rag_object.list_chats(name="Miss R")[0]\n'
            "_sessions = [s.id for s in _chat.list_sessions()][:2]"
        ),
        fixes=[Fix('ids=["id_1","id_2"]', "ids=_sessions", PLACEHOLDER_IDS)],
    ),
    Step(
        25,
        fixes=[
            Fix(
                'while True:\n    question = input("\\n==================== User '
                '=====================\\n> ")',
                'for question in ["What is RAGFlow?"]:',
                "interactive input() loop replaced by one fixed question",
            ),
            Fix(
                "print(answer.content[len(cont):], end='', flush=True)\n"
                "        cont = answer.content",
                "print(ans.content[len(cont):], end='', flush=True)\n        cont = ans.content",
                "`answer` is undefined (the loop variable is `ans`)",
            ),
        ],
    ),
]

FIXES: list[tuple[int, str, Fix]] = [
    (s.index, SEED_EXAMPLES[s.index][0], fix) for s in STEPS for fix in s.fixes
]

TEST_FILES = {
    "test_data/test1.txt": b"test one: RAGFlow parses documents.",
    "test_data/test2.txt": b"test two: chunks are retrieved.",
    "test_data/test3.txt": b"test three: chats cite chunks.",
    "test_data/ragflow_test.txt": b"RAGFlow is an open-source RAG engine.",
}


def prepare(code: str, server: LocalRAGFlowServer, step: Step) -> str:
    code = code.replace("from ragflow import RAGFlow", "from ragflow_integrations import RAGFlow")
    code = code.replace("<YOUR_API_KEY>", server.api_key)
    code = code.replace("http://<YOUR_BASE_URL>:9380", server.base_url)
    for fix in step.fixes:
        assert fix.old in code, f"example {step.index}: fix target not found: {fix.old!r}"
        code = code.replace(fix.old, fix.new)
    return code


def standalone(code: str) -> bool:
    return "rag_object = RAGFlow(" in code


@pytest.fixture
def seed_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalRAGFlowServer]:
    """A fresh loopback server; cwd holds ./test_data and a directory named ``~``."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "~").mkdir()
    for name, data in TEST_FILES.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(data)
    with LocalRAGFlowServer(api_key=API_KEY, parse_delay=0.3) as server:
        yield server


def test_every_seed_example_runs(
    seed_server: LocalRAGFlowServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert sorted(s.index for s in STEPS) == list(range(len(SEED_EXAMPLES)))
    namespace: dict[str, Any] = {}
    outputs: dict[int, str] = {}
    for step in STEPS:
        title, original = SEED_EXAMPLES[step.index]
        code = prepare(original, seed_server, step)
        if standalone(original):
            namespace = {}
        if step.setup:
            if standalone(original):  # the setup needs the example's own client
                exec(compile(_constructor(code), f"<seed {step.index} client>", "exec"), namespace)
            exec(compile(step.setup, f"<seed {step.index} setup>", "exec"), namespace)
        try:
            exec(compile(code, f"<seed example {step.index}: {title}>", "exec"), namespace)
        except Exception as exc:  # pragma: no cover - the assertion message is the point
            pytest.fail(f"seed example {step.index} ({title}) failed: {exc!r}\n{code}")
        outputs[step.index] = capsys.readouterr().out

    rag = namespace["rag_object"]
    names = {d.name for d in rag.list_datasets()}
    assert {"kb_1", "kb_name", "ragflow", "dataset_name"} <= names
    assert "tmp_a" not in names and "tmp_b" not in names
    assert "kb_1" in outputs[2] and "kb_1" in outputs[3]
    assert "ragflow.txt" in outputs[8]
    assert "Async bulk parsing cancelled." in outputs[11]
    assert {c.name for c in rag.list_chats()} == {"Stefan", "Miss R"}
    assert "Miss R" in outputs[20] and "Stefan" in outputs[20]
    assert "updated_name" in outputs[23]
    assert "Hi! I'm your assistant" in outputs[25]
    assert "RAGFlow is an open-source RAG engine" in outputs[25]
    assert Path("~/ragflow.txt").read_bytes() == b"<BINARY_CONTENT_OF_THE_DOC>"


def _constructor(code: str) -> str:
    """The import and ``rag_object = ...`` lines of a standalone example (for its setup)."""
    keep = [
        line
        for line in code.splitlines()
        if line.startswith(("from ragflow_integrations", "rag_object = RAGFlow("))
    ]
    return "\n".join(keep)
