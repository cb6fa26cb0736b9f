"""Property-based bad input over the public API against one shared server.

Unicode and empty names, questions and metadata; page and size extremes; None and empty lists;
wrong types. Every failure must be a RAGFlowError subclass, or a ValueError/TypeError whose message
names what to fix; no KeyError, AttributeError or IndexError (or anything else) may escape.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from _reliability import API_KEY, FACTS, seed_dataset, unique
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from ragflow_integrations import RAGFlow, RAGFlowError
from ragflow_integrations.testing import LocalRAGFlowServer

pytestmark = pytest.mark.live

PROFILE = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,  # the same examples on every run: a CI failure reproduces locally
    database=None,
    phases=(Phase.explicit, Phase.reuse, Phase.generate),  # no shrinking: keeps the suite fast
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

NASTY_TEXT = [
    "",
    " ",
    "\n\t",
    "\x00",
    "名前のデータセット",
    "🙂" * 20,
    "x" * 1000,
    "../../etc/passwd",
    "' OR 1=1 --",
    "a/b\\c?d#e&f=g",
    "\u202eevil",
]
texts = st.one_of(st.text(max_size=60), st.sampled_from(NASTY_TEXT))
wrong_types = st.one_of(
    st.just("\ud800"),  # a lone surrogate: a str that cannot be encoded (surrogateescape names)
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.binary(max_size=8),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
    st.just(object()),
)
extremes = st.one_of(
    st.sampled_from([0, -1, 1, 99, 100, 101, 1024, 2**31, 2**63, -(2**63), 10**18]),
    st.integers(min_value=-(10**6), max_value=10**6),
)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), texts),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(texts, inner, max_size=3)),
    max_leaves=6,
)
metadata = st.one_of(st.dictionaries(texts, json_values, max_size=4), wrong_types)

LEAKS = (KeyError, AttributeError, IndexError)
ADVICE = ("must be", "pass ", "expected", "should be")  # a message that says what to pass


@dataclass
class Tally:
    """What the examples ended in (for the report)."""

    calls: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)

    def add(self, outcome: str) -> None:
        self.calls += 1
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1


TALLY: dict[tuple[str, str], Tally] = {}
CURRENT: dict[str, str] = {"nodeid": ""}


@pytest.fixture(autouse=True)
def _current_test(request: pytest.FixtureRequest) -> None:
    CURRENT["nodeid"] = request.node.nodeid


def attempt(area: str, fn: Callable[[], Any], hints: Sequence[str]) -> Any:
    """Run ``fn``; a failure must be typed and, for ValueError/TypeError, name one of ``hints``.

    For the ``wrong-types-no-leak`` kind (named at the end of ``area``) the message is not judged.
    """
    judge_message = not area.endswith("wrong-types-no-leak")
    tally = TALLY.setdefault((CURRENT["nodeid"], area), Tally())
    try:
        result = fn()
    except RAGFlowError as exc:
        assert str(exc).strip(), f"{type(exc).__name__} without a message"
        tally.add(type(exc).__name__)
        return None
    except (ValueError, TypeError) as exc:
        message = str(exc)
        assert not isinstance(exc, LEAKS)
        assert (
            not judge_message
            or any(h in message for h in hints)
            or any(w in message for w in ADVICE)
        ), f"{type(exc).__name__}({message!r}) names no argument ({hints}) and gives no advice"
        tally.add(type(exc).__name__)
        return None
    except Exception as exc:  # KeyError, AttributeError, IndexError, anything else
        raise AssertionError(f"{type(exc).__name__} escaped from the library: {exc!r}") from exc
    tally.add("ok")
    return result


# right-types: plausible values, full check; wrong-types: also values of the wrong type, full
# check; wrong-types-no-leak: the same inputs, checking only that the failure is typed
KINDS = ["right-types", "wrong-types", "wrong-types-no-leak"]


def pick(data: st.DataObject, kind: str, good: st.SearchStrategy[Any], label: str) -> Any:
    """Draw a plausible value, or (``wrong-types``) sometimes a value of the wrong type."""
    strategy = good if kind == "right-types" else st.one_of(good, wrong_types)
    return data.draw(strategy, label=label)


@pytest.fixture(scope="module")
def own_server() -> Iterator[LocalRAGFlowServer]:
    """A server of its own: bad input may leave odd objects behind."""
    with LocalRAGFlowServer(api_key=API_KEY) as srv:
        yield srv


@pytest.fixture(scope="module")
def client(own_server: LocalRAGFlowServer) -> Iterator[RAGFlow]:
    with RAGFlow(
        api_key=API_KEY,
        base_url=own_server.base_url,
        server_version="0.27",
        max_retries=1,  # the stand-in drops the connection after some odd inputs (see below)
        timeout=10,
    ) as rag:
        yield rag


@pytest.fixture(scope="module")
def corpus(client: RAGFlow) -> Any:
    return seed_dataset(client, unique("bad-input"), FACTS)


@pytest.fixture(scope="module", autouse=True)
def _report_tally(ledger_module: Callable[..., None]) -> Iterator[None]:
    yield
    for (nodeid, area), tally in TALLY.items():
        ledger_module(
            nodeid=nodeid,
            area="bad input",
            fault=f"hypothesis examples: {area}",
            injected=tally.calls,
            requests_sent=None,
            caller_saw=", ".join(f"{k} x{v}" for k, v in sorted(tally.outcomes.items())),
            data_check="no KeyError/AttributeError/IndexError escaped",
            seconds=0.0,
        )


@PROFILE
@pytest.mark.parametrize("kind", KINDS)
@given(data=st.data())
def test_create_dataset(client: RAGFlow, kind: str, data: st.DataObject) -> None:
    name = pick(data, kind, texts, "name")
    description = pick(data, kind, texts, "description")
    created = attempt(
        f"create_dataset(name, description), {kind}",
        lambda: client.create_dataset(name=name, description=description),
        ["name", "description"],
    )
    if created is not None:
        assert created.id
        client.delete_datasets([created.id])


@PROFILE
@pytest.mark.parametrize("kind", KINDS)
@given(data=st.data())
def test_list_datasets(client: RAGFlow, kind: str, data: st.DataObject) -> None:
    page = pick(data, kind, extremes, "page")
    page_size = pick(data, kind, extremes, "page_size")
    orderby = pick(
        data, kind, st.one_of(st.sampled_from(["create_time", "update_time"]), texts), "orderby"
    )
    desc = pick(data, kind, st.booleans(), "desc")
    name = pick(data, kind, st.one_of(st.none(), texts), "name")
    result = attempt(
        f"list_datasets(page, page_size, orderby, desc, name), {kind}",
        lambda: client.list_datasets(
            page=page, page_size=page_size, orderby=orderby, desc=desc, name=name
        ),
        ["page", "page_size", "orderby", "desc", "name"],
    )
    if result is not None:
        assert isinstance(result, list)
        if isinstance(page_size, int) and not isinstance(page_size, bool) and page_size > 0:
            assert len(result) <= page_size


@PROFILE
@pytest.mark.parametrize("kind", KINDS)
@given(data=st.data())
def test_get_dataset(client: RAGFlow, kind: str, data: st.DataObject) -> None:
    ident = pick(data, kind, st.one_of(st.none(), texts), "id")
    name = pick(data, kind, st.one_of(st.none(), texts), "name")
    attempt(
        f"get_dataset(id, name), {kind}",
        lambda: client.get_dataset(ident, name=name),
        ["id", "name"],
    )


@PROFILE
@pytest.mark.parametrize("kind", KINDS)
@given(data=st.data())
def test_retrieve(client: RAGFlow, corpus: Any, kind: str, data: st.DataObject) -> None:
    question = pick(data, kind, texts, "question")
    dataset_ids = pick(
        data,
        kind,
        st.one_of(st.none(), st.just([]), st.just([corpus.id]), st.lists(texts, max_size=3)),
        "dataset_ids",
    )
    page = pick(data, kind, st.one_of(st.none(), extremes), "page")
    page_size = pick(data, kind, st.one_of(st.none(), extremes), "page_size")
    threshold = pick(data, kind, st.floats(allow_nan=True, allow_infinity=True), "threshold")
    top_k = pick(data, kind, extremes, "top_k")
    condition = pick(data, kind, st.one_of(st.none(), st.dictionaries(texts, json_values)), "cond")
    result = attempt(
        f"retrieve(question, dataset_ids, page, page_size, similarity_threshold, top_k, "
        f"metadata_condition), {kind}",
        lambda: client.retrieve(
            question,
            dataset_ids=dataset_ids,
            page=page,
            page_size=page_size,
            similarity_threshold=threshold,
            top_k=top_k,
            metadata_condition=condition,
        ),
        [
            "question",
            "dataset_ids",
            "page",
            "page_size",
            "similarity_threshold",
            "top_k",
            "metadata_condition",
        ],
    )
    if result is not None:
        assert isinstance(result, list)
        if isinstance(threshold, float) and not math.isnan(threshold) and threshold > 1:
            assert result == []


@PROFILE
@pytest.mark.parametrize("kind", KINDS)
@given(data=st.data())
def test_list_documents_and_chunks(
    client: RAGFlow, corpus: Any, kind: str, data: st.DataObject
) -> None:
    offset = pick(data, kind, extremes, "offset")
    limit = pick(data, kind, extremes, "limit")
    keywords = pick(data, kind, st.one_of(st.none(), texts), "keywords")
    docs = attempt(
        f"DataSet.list_documents(keywords, offset, limit), {kind}",
        lambda: corpus.list_documents(keywords=keywords, offset=offset, limit=limit),
        ["keywords", "offset", "limit"],
    )
    if docs:
        attempt(
            f"Document.list_chunks(keywords, offset, limit), {kind}",
            lambda: docs[0].list_chunks(keywords=keywords, offset=offset, limit=limit),
            ["keywords", "offset", "limit"],
        )


@PROFILE
@pytest.mark.parametrize("kind", KINDS)
@given(data=st.data())
def test_upload_documents(client: RAGFlow, corpus: Any, kind: str, data: st.DataObject) -> None:
    name = pick(data, kind, texts, "display_name")
    blob = pick(data, kind, st.one_of(st.binary(max_size=64), texts), "blob")
    meta = pick(data, kind, st.one_of(st.none(), st.dictionaries(texts, json_values)), "meta")
    shape = data.draw(
        st.sampled_from(["dict", "no-name", "empty-list"])
        if kind == "right-types"
        else st.sampled_from(["dict", "no-name", "empty-list", "not-a-dict", "none"]),
        label="shape",
    )
    item: Any = {"display_name": name, "blob": blob}
    if meta is not None:
        item["meta_fields"] = meta
    document_list: Any = {
        "dict": [item],
        "no-name": [{"blob": blob}],
        "not-a-dict": [name],
        "empty-list": [],
        "none": None,
    }[shape]
    uploaded = attempt(
        f"DataSet.upload_documents([{{display_name, blob, meta_fields}}]), {kind}",
        lambda: corpus.upload_documents(document_list),
        ["document_list", "display_name", "blob", "meta_fields", "name"],
    )
    if uploaded:
        corpus.delete_documents([d.id for d in uploaded])


@PROFILE
@pytest.mark.parametrize("kind", KINDS)
@given(data=st.data())
def test_chat_and_ask(client: RAGFlow, corpus: Any, kind: str, data: st.DataObject) -> None:
    name = pick(data, kind, texts, "name")
    dataset_ids = pick(
        data, kind, st.one_of(st.none(), st.just([]), st.lists(texts, max_size=2)), "dataset_ids"
    )
    question = pick(data, kind, texts, "question")
    chat = attempt(
        f"create_chat(name, dataset_ids), {kind}",
        lambda: client.create_chat(name=name, dataset_ids=dataset_ids),
        ["name", "dataset_ids"],
    )
    if chat is None:
        chat = client.create_chat(name=unique("ask"), dataset_ids=[corpus.id])
    try:
        session = chat.create_session()
        attempt(f"Session.ask(question), {kind}", lambda: session.ask(question), ["question"])
        attempt(
            f"chat_completion(chat_id, messages), {kind}",
            lambda: client.chat_completion(chat.id, question),
            ["messages", "question"],
        )
    finally:
        client.delete_chats([chat.id])


@PROFILE
@pytest.mark.parametrize("kind", KINDS)
@given(data=st.data())
def test_updates(client: RAGFlow, corpus: Any, kind: str, data: st.DataObject) -> None:
    values = texts | json_values if kind == "right-types" else texts | json_values | wrong_types
    keys = st.sampled_from(["name", "description", "meta_fields", "chunk_method", "bogus"])
    update = pick(data, kind, st.dictionaries(keys, values, max_size=3), "update_message")
    doc = corpus.list_documents(limit=1)[0]
    attempt(
        f"Document.update(update_message), {kind}",
        lambda: doc.update(update),
        ["update_message", "name", "meta_fields", "chunk_method", "bogus"],
    )
    if isinstance(update, dict):
        update = {k: v for k, v in update.items() if k != "name"}
    attempt(
        f"DataSet.update(update_message), {kind}",
        lambda: client.get_dataset(corpus.id).update(update),
        ["update_message", "description", "meta_fields", "chunk_method", "bogus"],
    )


@PROFILE
@pytest.mark.parametrize("kind", KINDS)
@given(data=st.data())
def test_delete_inputs(client: RAGFlow, corpus: Any, kind: str, data: st.DataObject) -> None:
    ids = pick(data, kind, st.one_of(st.just([]), st.lists(texts, max_size=3)), "ids")
    delete_all = data.draw(st.booleans(), label="delete_all")
    if delete_all and ids is None:
        return  # a real "delete everything" request, not bad input
    attempt(
        f"delete_chats / delete_documents(ids, delete_all), {kind}",
        lambda: client.delete_chats(ids, delete_all=delete_all),
        ["ids", "delete_all"],
    )
    attempt(
        f"delete_chats / delete_documents(ids, delete_all), {kind}",
        lambda: corpus.delete_documents(ids, delete_all=delete_all),
        ["ids", "delete_all"],
    )
    assert len(corpus.list_documents()) == len(FACTS), "bad delete input removed documents"


@pytest.mark.parametrize("field", ["name", "description"])
def test_an_unencodable_name_does_not_break_the_server(field: str) -> None:
    """A lone surrogate travels as valid JSON (``"\\ud800"``); the server must refuse it or
    store it in a form it can send back, never store it and then fail every later listing."""
    with (
        LocalRAGFlowServer(api_key=API_KEY) as srv,
        RAGFlow(api_key=API_KEY, base_url=srv.base_url, server_version="0.27") as rag,
    ):
        keeper = rag.create_dataset(name=unique("keeper"))
        fields = {"name": unique("odd"), field: "bad \ud800 text"}
        try:
            rag.create_dataset(**fields)
        except RAGFlowError as exc:
            assert exc.status_code != 500, f"the server crashed on it: {exc}"
        listed = [d.id for d in rag.list_datasets()]
        assert keeper.id in listed


def test_an_error_that_echoes_an_unencodable_value_is_still_an_error_answer() -> None:
    """A rejected field whose value is a lone surrogate: the server's error message quotes the
    value; it must still answer code 101, not crash into HTTP 500 and drop the connection."""
    with (
        LocalRAGFlowServer(api_key=API_KEY) as srv,
        RAGFlow(
            api_key=API_KEY, base_url=srv.base_url, server_version="0.27", max_retries=0
        ) as rag,
    ):
        dataset = rag.create_dataset(name=unique("echo"))
        with pytest.raises(RAGFlowError) as caught:
            dataset.update({"bogus_field": "bad \ud800 value"})
        assert caught.value.status_code != 500, f"the server crashed: {caught.value}"
        assert caught.value.code == 101, repr(caught.value)


ASYNC_CALLS = ["create_dataset", "list_datasets", "retrieve", "upload_documents", "list_documents"]


@settings(PROFILE, max_examples=15)
@pytest.mark.parametrize("kind", KINDS)
@given(data=st.data())
def test_async_api(
    own_server: LocalRAGFlowServer, corpus: Any, kind: str, data: st.DataObject
) -> None:
    """The async twins (their own argument handling in the Async* models) under the same input."""
    import asyncio

    from ragflow_integrations import AsyncRAGFlow

    call = data.draw(st.sampled_from(ASYNC_CALLS), label="call")
    a = pick(data, kind, texts, "a")
    b = pick(data, kind, extremes, "b")
    c = pick(data, kind, st.one_of(st.none(), st.lists(texts, max_size=2)), "c")

    async def run() -> Any:
        async with AsyncRAGFlow(
            api_key=API_KEY, base_url=own_server.base_url, server_version="0.27", max_retries=1
        ) as client:
            dataset = await client.get_dataset(corpus.id)
            if call == "create_dataset":
                created = await client.create_dataset(name=a, description=c)
                await client.delete_datasets([created.id])
                return created
            if call == "list_datasets":
                return await client.list_datasets(page=b, page_size=b, name=a)
            if call == "retrieve":
                return await client.retrieve(a, dataset_ids=c, page_size=b)
            if call == "upload_documents":
                docs = await dataset.upload_documents([{"display_name": a, "blob": a}])
                await dataset.delete_documents([d.id for d in docs])
                return docs
            return await dataset.list_documents(keywords=a, offset=b, limit=b)

    attempt(
        f"async {call}, {kind}",
        lambda: asyncio.run(run()),
        ["name", "description", "page", "page_size", "question", "dataset_ids",
         "display_name", "blob", "keywords", "offset", "limit"],
    )  # fmt: skip
