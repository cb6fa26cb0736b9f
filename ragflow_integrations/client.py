"""``RAGFlow`` and ``AsyncRAGFlow``: the seed's Python API over RAGFlow's current wire protocol.

Both clients run the same sans-I/O operations (``_core/ops.py``); they differ only in how requests
are sent (``requests`` vs ``httpx``) and how sleeps happen.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, overload

from ._core import ops
from ._core.features import ServerFeatures
from ._core.ops import DEFAULT_SEED_EMBEDDING, Call, Emit, Op, Sleep, StreamPlan, _Features
from ._core.paging import page_window
from ._core.request import DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT, normalize_base_url
from ._core.sse import StreamEvent
from ._core.streaming import StreamRunner
from ._transport.base import TransportOptions
from .errors import RAGFlowError
from .models import (
    ASYNC_KINDS,
    SYNC_KINDS,
    Agent,
    AsyncAgent,
    AsyncChat,
    AsyncChunk,
    AsyncDataSet,
    Chat,
    Chunk,
    DataSet,
    Document,
    Message,
    RetrievalResult,
    _Model,
)

if TYPE_CHECKING:
    from ._transport.async_ import AsyncTransport
    from ._transport.sync import SyncTransport

__all__ = ["AsyncRAGFlow", "RAGFlow"]

DEFAULT_BASE_URL = "http://localhost:9380"


def _resolve(api_key: str | None, base_url: str | None) -> tuple[str, str]:
    key = api_key if api_key is not None else os.environ.get("RAGFLOW_API_KEY")
    if not key:
        raise ValueError(
            "No RAGFlow API key: pass api_key='ragflow-...' or set the RAGFLOW_API_KEY "
            "environment variable (create a key in the RAGFlow UI under API)."
        )
    url = base_url or os.environ.get("RAGFLOW_BASE_URL") or os.environ.get("RAGFLOW_API_BASE")
    return key, normalize_base_url(url or DEFAULT_BASE_URL)


class _ClientBase:
    """Configuration shared by both clients (the key lives only in the transport options)."""

    _kinds: dict[str, type[_Model]]

    def __init__(
        self,
        api_key: str | None,
        base_url: str | None,
        *,
        timeout: float,
        connect_timeout: float,
        max_retries: int,
        verify: bool | str,
        server_version: str | None,
    ) -> None:
        key, api_base = _resolve(api_key, base_url)
        self._options = TransportOptions(  # checks the timeouts, max_retries and verify
            api_base, key, timeout, connect_timeout, max_retries, verify
        )
        self._features: ServerFeatures | None = (
            ServerFeatures.from_version(server_version) if server_version else None
        )

    @property
    def base_url(self) -> str:
        """The API root, ``http://host:port/api/v1``."""
        return self._options.api_base

    @property
    def timeout(self) -> float:
        """Read timeout in seconds."""
        return self._options.timeout

    @property
    def max_retries(self) -> int:
        """Retries after the first attempt (0 disables)."""
        return self._options.max_retries

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    @contextlib.contextmanager
    def _key_hidden(self) -> Iterator[None]:
        """Mask the key in any error raised inside (a server may echo the Authorization header)."""
        try:
            yield
        except RAGFlowError as exc:
            exc.hide(self._options.api_key)
            raise

    def _twin_config(self) -> dict[str, Any]:
        """Constructor arguments for a twin client (same server, key, timeouts, retries, TLS)."""
        o = self._options
        return {
            "api_key": o.api_key,
            "base_url": o.api_base,
            "timeout": o.timeout,
            "connect_timeout": o.connect_timeout,
            "max_retries": o.max_retries,
            "verify": o.verify,
            "server_version": ".".join(map(str, self._features.version))
            if self._features
            else None,
        }

    def wrap(self, kind: str, data: Mapping[str, Any]) -> Any:
        """Build a model of ``kind`` bound to this client (used by the operations)."""
        data = dict(data)
        if kind == "message":
            data["reference"] = [
                c if isinstance(c, _Model) else self.wrap("chunk", c)
                for c in data.get("reference") or []
                if isinstance(c, (Mapping, _Model))
            ]
        return self._kinds[kind].model_validate(data)._bind(self)


class RAGFlow(_ClientBase):
    """Synchronous client.

    >>> rag = RAGFlow(api_key="ragflow-...", base_url="http://localhost:9380")  # doctest: +SKIP
    >>> ds = rag.create_dataset(name="kb_1")  # doctest: +SKIP
    """

    _kinds = SYNC_KINDS

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        timeout: float = DEFAULT_READ_TIMEOUT,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        max_retries: int = 2,
        verify: bool | str = True,
        server_version: str | None = None,
        session: Any = None,
    ) -> None:
        super().__init__(
            api_key,
            base_url,
            timeout=timeout,
            connect_timeout=connect_timeout,
            max_retries=max_retries,
            verify=verify,
            server_version=server_version,
        )
        from ._transport.sync import SyncTransport

        self._transport: SyncTransport = SyncTransport(self._options, session)
        self._lock = threading.Lock()

    # -- lifecycle ------------------------------------------------------------------------
    def with_options(
        self,
        *,
        timeout: float | None = None,
        connect_timeout: float | None = None,
        max_retries: int | None = None,
    ) -> RAGFlow:
        """A copy with other timeouts/retries sharing this client's connection pool."""
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone._transport = self._transport.copy(
            timeout=timeout, connect_timeout=connect_timeout, max_retries=max_retries
        )
        clone._options = clone._transport.options
        return clone

    def to_async(self, *, http_client: Any = None) -> AsyncRAGFlow:
        """An :class:`AsyncRAGFlow` with this client's configuration (its own connection pool)."""
        return AsyncRAGFlow(**self._twin_config(), http_client=http_client)

    def close(self) -> None:
        """Close the connection pool (if the client created it)."""
        self._transport.close()

    def __enter__(self) -> RAGFlow:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- drivers --------------------------------------------------------------------------
    def _execute(self, instruction: Any) -> Any:
        if isinstance(instruction, Call):
            return self._transport.request(instruction.spec)
        if isinstance(instruction, Sleep):
            time.sleep(instruction.seconds)
            return None
        if isinstance(instruction, _Features):
            return self.get_features()
        raise TypeError(f"unexpected instruction {instruction!r}")

    def _run(self, op: Op) -> Any:
        with self._key_hidden():
            try:
                instruction = next(op)
                while True:
                    if isinstance(instruction, Emit):
                        raise TypeError("iterator operation run with _run; use _iterate")
                    try:
                        result = self._execute(instruction)
                    except Exception as exc:
                        instruction = op.throw(exc)
                        continue
                    instruction = op.send(result)
            except StopIteration as stop:
                return stop.value

    def _iterate(self, op: Op) -> Iterator[Any]:
        with self._key_hidden():
            try:
                instruction = next(op)
                while True:
                    if isinstance(instruction, Emit):
                        yield instruction.item
                        instruction = op.send(None)
                        continue
                    try:
                        result = self._execute(instruction)
                    except Exception as exc:
                        instruction = op.throw(exc)
                        continue
                    instruction = op.send(result)
            except StopIteration:
                return

    def _collect(self, op: Op) -> list[Any]:
        return list(self._iterate(op))

    def _stream(self, plan: StreamPlan) -> Iterator[Any]:
        with self._key_hidden():
            try:
                runner = StreamRunner(plan)
                with self._transport.stream(plan.spec) as response:
                    if not response.is_sse:
                        try:
                            body = response.read()
                        except Exception as exc:  # the plain answer was cut while reading
                            raise runner.cut(exc) from exc
                        yield from runner.non_stream_body(response.status, response.headers, body)
                        return
                    lines = response.lines()
                    while True:
                        try:
                            line = next(lines)
                        except StopIteration:
                            break
                        except Exception as exc:
                            raise runner.cut(exc) from exc
                        yield from runner.feed(line)
                        if runner.done:
                            response.drain()  # keeps the connection for the next request
                            break
                    yield from runner.finish()
            finally:
                if plan.cleanup is not None:
                    self._run(plan.cleanup())

    # -- server ---------------------------------------------------------------------------
    def get_features(self) -> ServerFeatures:
        """Probe ``GET /system/version`` once (404 = server before v0.25) and cache the result."""
        if self._features is None:
            with self._lock:
                if self._features is None:
                    self._features = self._run(ops.probe_features())
        return self._features

    @property
    def features(self) -> ServerFeatures:
        """The server's :class:`ServerFeatures` (probed on first use)."""
        return self.get_features()

    def ping(self) -> bool:
        """True when ``/system/ping`` answers ``pong``; False when unreachable or wrong."""
        try:
            return bool(self.with_options(max_retries=0)._run(ops.ping()))
        except RAGFlowError:
            return False

    def version(self) -> str:
        """The server's version text (``"<0.25 …"`` for old servers without the route)."""
        return self.get_features().version_text

    def health(self) -> dict[str, Any]:
        """``/system/healthz`` as a dict (``{"status": "unhealthy", …}`` on HTTP 500)."""
        result: dict[str, Any] = self._run(ops.health())
        return result

    # -- datasets -------------------------------------------------------------------------
    def create_dataset(
        self,
        name: str,
        avatar: str = "",
        description: str = "",
        embedding_model: str | None = DEFAULT_SEED_EMBEDDING,
        language: str = "English",
        permission: str = "me",
        chunk_method: str = "naive",
        parser_config: Any = None,
        **extra: Any,
    ) -> DataSet:
        """Create a dataset (``embedding_model`` is sent only in ``name@provider`` form)."""
        dataset: DataSet = self._run(
            ops.create_dataset(
                self,
                name,
                avatar,
                description,
                embedding_model,
                language,
                permission,
                chunk_method,
                parser_config,
                extra,
            )
        )
        return dataset

    def get_dataset(self, id: str | None = None, *, name: str | None = None) -> DataSet:
        """One dataset by id or exact name; NotFoundError when missing."""
        dataset: DataSet = self._run(ops.get_dataset(self, id, name))
        return dataset

    def list_datasets(
        self,
        page: int = 1,
        page_size: int = 1024,
        orderby: str = "create_time",
        desc: bool = True,
        id: str | None = None,
        name: str | None = None,
    ) -> list[DataSet]:
        """Page ``page`` of size ``page_size`` (fetched in server pages of ≤ 100)."""
        offset, limit = page_window(page, page_size)
        return self._collect(ops.walk_datasets(self, offset, limit, orderby, desc, id, name))

    def iter_datasets(
        self, orderby: str = "create_time", desc: bool = True, name: str | None = None
    ) -> Iterator[DataSet]:
        """Every dataset, lazily."""
        return self._iterate(ops.walk_datasets(self, 1, None, orderby, desc, None, name))

    def delete_datasets(
        self, ids: Sequence[str] | None = None, *, delete_all: bool = False
    ) -> None:
        """Delete by ids; ``ids=None`` requires ``delete_all=True``; ``[]`` sends nothing."""
        self._run(ops.delete_datasets(self, ids, delete_all))

    def create_document(self, dataset: DataSet, name: str, blob: bytes) -> Document:
        """Upload one document (the seed's retrieval example uses this helper)."""
        docs = dataset.upload_documents([{"display_name": name, "blob": blob}])
        return docs[0]

    # -- retrieval ------------------------------------------------------------------------
    def retrieve(
        self,
        question: str = "",
        dataset_ids: Sequence[str] | None = None,
        document_ids: Sequence[str] | None = None,
        offset: int = 1,
        limit: int = 1024,
        similarity_threshold: float = 0.2,
        vector_similarity_weight: float = 0.3,
        top_k: int = 1024,
        rerank_id: str | None = None,
        keyword: bool = False,
        highlight: bool = False,
        *,
        page: int | None = None,
        page_size: int | None = None,
        cross_languages: Sequence[str] | None = None,
        metadata_condition: Mapping[str, Any] | None = None,
        use_kg: bool = False,
        toc_enhance: bool = False,
        reference_metadata: Mapping[str, Any] | None = None,
        higlight: bool | None = None,
    ) -> list[Chunk]:
        """Chunks ranked ``offset`` .. ``offset+limit-1`` (or ``page``/``page_size``).

        ``higlight`` is the seed signature's spelling of ``highlight``, accepted as its alias.
        """
        if higlight is not None:
            highlight = bool(higlight)
        body = ops.retrieval_body(
            question,
            dataset_ids,
            document_ids,
            similarity_threshold,
            vector_similarity_weight,
            top_k,
            rerank_id,
            keyword,
            highlight,
            cross_languages,
            metadata_condition,
            use_kg,
            toc_enhance,
            reference_metadata,
        )
        if page is not None or page_size is not None:
            offset, limit = page_window(page or 1, page_size or 30)
        return self._collect(ops.walk_retrieval(self, body, offset, limit))

    def retrieve_page(
        self,
        question: str,
        dataset_ids: Sequence[str],
        document_ids: Sequence[str] | None = None,
        *,
        page: int = 1,
        page_size: int = 30,
        similarity_threshold: float = 0.2,
        vector_similarity_weight: float = 0.3,
        top_k: int = 1024,
        rerank_id: str | None = None,
        keyword: bool = False,
        highlight: bool = False,
        cross_languages: Sequence[str] | None = None,
        metadata_condition: Mapping[str, Any] | None = None,
        use_kg: bool = False,
        toc_enhance: bool = False,
        reference_metadata: Mapping[str, Any] | None = None,
    ) -> RetrievalResult:
        """One retrieval request: chunks plus ``total`` and ``doc_aggs``."""
        body = ops.retrieval_body(
            question,
            dataset_ids,
            document_ids,
            similarity_threshold,
            vector_similarity_weight,
            top_k,
            rerank_id,
            keyword,
            highlight,
            cross_languages,
            metadata_condition,
            use_kg,
            toc_enhance,
            reference_metadata,
        )
        return RetrievalResult(**self._run(ops.retrieve_page(self, body, page, page_size)))

    # -- chats ----------------------------------------------------------------------------
    def create_chat(
        self,
        name: str,
        avatar: str = "",
        dataset_ids: Sequence[str] | None = None,
        llm: Any = None,
        prompt: Any = None,
        **native_fields: Any,
    ) -> Chat:
        """Create a chat assistant (seed ``llm``/``prompt`` translated on new servers)."""
        chat: Chat = self._run(
            ops.create_chat(self, name, avatar, dataset_ids, llm, prompt, native_fields)
        )
        return chat

    def get_chat(self, chat_id: str) -> Chat:
        """One chat assistant by id; NotFoundError when missing."""
        chat: Chat = self._run(ops.get_chat(self, chat_id))
        return chat

    def list_chats(
        self,
        page: int = 1,
        page_size: int = 1024,
        orderby: str = "create_time",
        desc: bool = True,
        id: str | None = None,
        name: str | None = None,
    ) -> list[Chat]:
        """Page ``page`` of size ``page_size`` (fetched in server pages of <= 100)."""
        offset, limit = page_window(page, page_size)
        return self._collect(ops.walk_chats(self, offset, limit, orderby, desc, id, name))

    def iter_chats(
        self, orderby: str = "create_time", desc: bool = True, name: str | None = None
    ) -> Iterator[Chat]:
        """Every chat assistant, lazily."""
        return self._iterate(ops.walk_chats(self, 1, None, orderby, desc, None, name))

    def delete_chats(self, ids: Sequence[str] | None = None, *, delete_all: bool = False) -> None:
        """Delete by ids; ``ids=None`` requires ``delete_all=True``; ``[]`` sends nothing."""
        self._run(ops.delete_chats(self, ids, delete_all))

    @overload
    def chat_completion(
        self,
        chat_id: str,
        messages: Any,
        *,
        session_id: str | None = None,
        stream: Literal[False] = False,
        **extra: Any,
    ) -> Message: ...

    @overload
    def chat_completion(
        self,
        chat_id: str,
        messages: Any,
        *,
        session_id: str | None = None,
        stream: Literal[True],
        **extra: Any,
    ) -> Iterator[StreamEvent]: ...

    @overload
    def chat_completion(
        self,
        chat_id: str,
        messages: Any,
        *,
        session_id: str | None = None,
        stream: bool = False,
        **extra: Any,
    ) -> Any: ...

    def chat_completion(
        self,
        chat_id: str,
        messages: Any,
        *,
        session_id: str | None = None,
        stream: bool = False,
        **extra: Any,
    ) -> Any:
        """Native completion: a :class:`Message`, or an iterator of StreamEvents when streaming.

        Without ``session_id`` it is stateless: the whole history is sent and nothing is stored.
        """
        result = self._run(
            ops.chat_completion(
                self, chat_id, messages, session_id=session_id, stream=stream, extra=extra
            )
        )
        return self._stream(result) if stream else result

    @overload
    def openai_chat_completion(
        self,
        chat_id: str,
        messages: Any,
        *,
        stream: Literal[False] = False,
        model: str = "model",
        reference: bool = True,
        metadata_condition: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> dict[str, Any]: ...

    @overload
    def openai_chat_completion(
        self,
        chat_id: str,
        messages: Any,
        *,
        stream: Literal[True],
        model: str = "model",
        reference: bool = True,
        metadata_condition: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> Iterator[dict[str, Any]]: ...

    @overload
    def openai_chat_completion(
        self,
        chat_id: str,
        messages: Any,
        *,
        stream: bool = False,
        model: str = "model",
        reference: bool = True,
        metadata_condition: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> Any: ...

    def openai_chat_completion(
        self,
        chat_id: str,
        messages: Any,
        *,
        stream: bool = False,
        model: str = "model",
        reference: bool = True,
        metadata_condition: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> Any:
        """The OpenAI-compatible endpoint: a dict, or an iterator of chunk dicts."""
        result = self._run(
            ops.openai_chat_completion(
                chat_id,
                messages,
                stream=stream,
                model=model,
                reference=reference,
                metadata_condition=metadata_condition,
                extra=extra,
            )
        )
        return self._stream(result) if stream else result

    # -- agents ---------------------------------------------------------------------------
    def list_agents(
        self,
        page: int = 1,
        page_size: int = 1024,
        orderby: str = "update_time",
        desc: bool = True,
        id: str | None = None,
        title: str | None = None,
    ) -> list[Agent]:
        """Page ``page`` of size ``page_size`` of agents (template groups left out)."""
        offset, limit = page_window(page, page_size)
        return self._collect(ops.walk_agents(self, offset, limit, orderby, desc, id, title))

    def iter_agents(self, orderby: str = "update_time", desc: bool = True) -> Iterator[Agent]:
        """Every agent, lazily."""
        return self._iterate(ops.walk_agents(self, 1, None, orderby, desc))

    def get_agent(self, agent_id: str) -> Agent:
        """One agent (with its DSL) by id."""
        agent: Agent = self._run(ops.get_agent(self, agent_id))
        return agent

    def create_agent(
        self, title: str, dsl: Mapping[str, Any], description: str | None = None, **extra: Any
    ) -> Agent:
        """Create an agent from its DSL (returns the created agent)."""
        agent: Agent = self._run(ops.create_agent(self, title, dsl, description, extra))
        return agent

    def delete_agent(self, agent_id: str) -> None:
        """Delete one agent."""
        self._run(ops.delete_agent(agent_id))

    @overload
    def agent_completion(
        self,
        agent_id: str,
        question: str,
        *,
        session_id: str | None = None,
        stream: Literal[False] = False,
        inputs: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> Message: ...

    @overload
    def agent_completion(
        self,
        agent_id: str,
        question: str,
        *,
        session_id: str | None = None,
        stream: Literal[True],
        inputs: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> Iterator[StreamEvent]: ...

    @overload
    def agent_completion(
        self,
        agent_id: str,
        question: str,
        *,
        session_id: str | None = None,
        stream: bool = False,
        inputs: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> Any: ...

    def agent_completion(
        self,
        agent_id: str,
        question: str,
        *,
        session_id: str | None = None,
        stream: bool = False,
        inputs: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> Any:
        """Run an agent: a :class:`Message`, or an iterator of StreamEvents when streaming."""
        result = self._run(
            ops.agent_completion(
                self,
                agent_id,
                question,
                session_id=session_id,
                stream=stream,
                inputs=inputs,
                extra=extra,
            )
        )
        return self._stream(result) if stream else result

    # -- misc -----------------------------------------------------------------------------
    def related_questions(self, question: str) -> list[str]:
        """Search terms related to ``question`` (from the tenant's chat model)."""
        result: list[str] = self._run(ops.related_questions(question))
        return result

    def get_knowledge_graph(self, dataset_id: str) -> dict[str, Any]:
        """A dataset's knowledge graph: ``graph`` (nodes, edges) and ``mind_map``."""
        result: dict[str, Any] = self._run(ops.get_knowledge_graph(dataset_id))
        return result

    def delete_knowledge_graph(self, dataset_id: str) -> None:
        """Delete a dataset's knowledge graph."""
        self._run(ops.delete_knowledge_graph(dataset_id))


class AsyncRAGFlow(_ClientBase):
    """Asynchronous client (httpx); same methods as :class:`RAGFlow`, awaited."""

    _kinds = ASYNC_KINDS

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        timeout: float = DEFAULT_READ_TIMEOUT,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        max_retries: int = 2,
        verify: bool | str = True,
        server_version: str | None = None,
        http_client: Any = None,
    ) -> None:
        super().__init__(
            api_key,
            base_url,
            timeout=timeout,
            connect_timeout=connect_timeout,
            max_retries=max_retries,
            verify=verify,
            server_version=server_version,
        )
        self._http_client = http_client
        self._transport_obj: AsyncTransport | None = None
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None

    @property
    def _transport(self) -> AsyncTransport:
        if self._transport_obj is None:
            from ._transport.async_ import AsyncTransport

            self._transport_obj = AsyncTransport(self._options, self._http_client)
        return self._transport_obj

    def with_options(
        self,
        *,
        timeout: float | None = None,
        connect_timeout: float | None = None,
        max_retries: int | None = None,
    ) -> AsyncRAGFlow:
        """A copy with other timeouts/retries sharing this client's connection pool."""
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone._transport_obj = self._transport.copy(
            timeout=timeout, connect_timeout=connect_timeout, max_retries=max_retries
        )
        clone._options = clone._transport_obj.options
        return clone

    def to_sync(self, *, session: Any = None) -> RAGFlow:
        """A :class:`RAGFlow` with this client's configuration (its own connection pool)."""
        return RAGFlow(**self._twin_config(), session=session)

    async def aclose(self) -> None:
        """Close the connection pool (if the client created it)."""
        if self._transport_obj is not None:
            await self._transport_obj.aclose()

    async def close(self) -> None:
        """Close the connection pool (if the client created it)."""
        await self.aclose()

    async def __aenter__(self) -> AsyncRAGFlow:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- drivers --------------------------------------------------------------------------
    async def _execute(self, instruction: Any) -> Any:
        if isinstance(instruction, Call):
            return await self._transport.request(instruction.spec)
        if isinstance(instruction, Sleep):
            await asyncio.sleep(instruction.seconds)
            return None
        if isinstance(instruction, _Features):
            return await self.get_features()
        raise TypeError(f"unexpected instruction {instruction!r}")

    async def _run(self, op: Op) -> Any:
        with self._key_hidden():
            try:
                instruction = next(op)
                while True:
                    if isinstance(instruction, Emit):
                        raise TypeError("iterator operation run with _run; use _iterate")
                    try:
                        result = await self._execute(instruction)
                    except Exception as exc:
                        instruction = op.throw(exc)
                        continue
                    instruction = op.send(result)
            except StopIteration as stop:
                return stop.value

    async def _iterate(self, op: Op) -> AsyncIterator[Any]:
        with self._key_hidden():
            try:
                instruction = next(op)
                while True:
                    if isinstance(instruction, Emit):
                        yield instruction.item
                        instruction = op.send(None)
                        continue
                    try:
                        result = await self._execute(instruction)
                    except Exception as exc:
                        instruction = op.throw(exc)
                        continue
                    instruction = op.send(result)
            except StopIteration:
                return

    async def _collect(self, op: Op) -> list[Any]:
        return [item async for item in self._iterate(op)]

    async def _stream(self, plan: StreamPlan) -> AsyncIterator[Any]:
        with self._key_hidden():
            try:
                runner = StreamRunner(plan)
                async with self._transport.stream(plan.spec) as response:
                    if not response.is_sse:
                        try:
                            body = await response.read()
                        except Exception as exc:  # the plain answer was cut while reading
                            raise runner.cut(exc) from exc
                        for item in runner.non_stream_body(response.status, response.headers, body):
                            yield item
                        return
                    lines = response.lines()
                    while True:
                        try:
                            line = await lines.__anext__()
                        except StopAsyncIteration:
                            break
                        except Exception as exc:
                            raise runner.cut(exc) from exc
                        for item in runner.feed(line):
                            yield item
                        if runner.done:
                            await response.drain()  # keeps the connection for the next request
                            break
                    for item in runner.finish():
                        yield item
            finally:
                if plan.cleanup is not None:
                    await self._run(plan.cleanup())

    # -- server ---------------------------------------------------------------------------
    async def get_features(self) -> ServerFeatures:
        """Probe ``GET /system/version`` once and cache the result."""
        if self._features is None:
            running = asyncio.get_running_loop()
            if self._lock is None or self._lock_loop is not running:  # a lock binds to its loop
                self._lock, self._lock_loop = asyncio.Lock(), running
            async with self._lock:
                if self._features is None:
                    self._features = await self._run(ops.probe_features())
        return self._features

    @property
    def features(self) -> ServerFeatures | None:
        """The cached features (``None`` until the first request or ``await get_features()``)."""
        return self._features

    async def ping(self) -> bool:
        """True when ``/system/ping`` answers ``pong``; False when unreachable or wrong."""
        try:
            return bool(await self.with_options(max_retries=0)._run(ops.ping()))
        except RAGFlowError:
            return False

    async def version(self) -> str:
        """The server's version text (``"<0.25 …"`` for old servers without the route)."""
        return (await self.get_features()).version_text

    async def health(self) -> dict[str, Any]:
        """``/system/healthz`` as a dict (``{"status": "unhealthy", …}`` on HTTP 500)."""
        result: dict[str, Any] = await self._run(ops.health())
        return result

    # -- datasets -------------------------------------------------------------------------
    async def create_dataset(
        self,
        name: str,
        avatar: str = "",
        description: str = "",
        embedding_model: str | None = DEFAULT_SEED_EMBEDDING,
        language: str = "English",
        permission: str = "me",
        chunk_method: str = "naive",
        parser_config: Any = None,
        **extra: Any,
    ) -> AsyncDataSet:
        """Create a dataset (``embedding_model`` is sent only in ``name@provider`` form)."""
        dataset: AsyncDataSet = await self._run(
            ops.create_dataset(
                self,
                name,
                avatar,
                description,
                embedding_model,
                language,
                permission,
                chunk_method,
                parser_config,
                extra,
            )
        )
        return dataset

    async def get_dataset(self, id: str | None = None, *, name: str | None = None) -> AsyncDataSet:
        """One dataset by id or exact name; NotFoundError when missing."""
        dataset: AsyncDataSet = await self._run(ops.get_dataset(self, id, name))
        return dataset

    async def list_datasets(
        self,
        page: int = 1,
        page_size: int = 1024,
        orderby: str = "create_time",
        desc: bool = True,
        id: str | None = None,
        name: str | None = None,
    ) -> list[AsyncDataSet]:
        """Page ``page`` of size ``page_size`` (fetched in server pages of ≤ 100)."""
        offset, limit = page_window(page, page_size)
        return await self._collect(ops.walk_datasets(self, offset, limit, orderby, desc, id, name))

    def iter_datasets(
        self, orderby: str = "create_time", desc: bool = True, name: str | None = None
    ) -> AsyncIterator[AsyncDataSet]:
        """Every dataset, lazily."""
        return self._iterate(ops.walk_datasets(self, 1, None, orderby, desc, None, name))

    async def delete_datasets(
        self, ids: Sequence[str] | None = None, *, delete_all: bool = False
    ) -> None:
        """Delete by ids; ``ids=None`` requires ``delete_all=True``; ``[]`` sends nothing."""
        await self._run(ops.delete_datasets(self, ids, delete_all))

    async def create_document(self, dataset: AsyncDataSet, name: str, blob: bytes) -> Any:
        """Upload one document (the seed's retrieval example uses this helper)."""
        docs = await dataset.upload_documents([{"display_name": name, "blob": blob}])
        return docs[0]

    # -- retrieval ------------------------------------------------------------------------
    async def retrieve(
        self,
        question: str = "",
        dataset_ids: Sequence[str] | None = None,
        document_ids: Sequence[str] | None = None,
        offset: int = 1,
        limit: int = 1024,
        similarity_threshold: float = 0.2,
        vector_similarity_weight: float = 0.3,
        top_k: int = 1024,
        rerank_id: str | None = None,
        keyword: bool = False,
        highlight: bool = False,
        *,
        page: int | None = None,
        page_size: int | None = None,
        cross_languages: Sequence[str] | None = None,
        metadata_condition: Mapping[str, Any] | None = None,
        use_kg: bool = False,
        toc_enhance: bool = False,
        reference_metadata: Mapping[str, Any] | None = None,
        higlight: bool | None = None,
    ) -> list[AsyncChunk]:
        """Chunks ranked ``offset`` .. ``offset+limit-1`` (or ``page``/``page_size``).

        ``higlight`` is the seed signature's spelling of ``highlight``, accepted as its alias.
        """
        if higlight is not None:
            highlight = bool(higlight)
        body = ops.retrieval_body(
            question,
            dataset_ids,
            document_ids,
            similarity_threshold,
            vector_similarity_weight,
            top_k,
            rerank_id,
            keyword,
            highlight,
            cross_languages,
            metadata_condition,
            use_kg,
            toc_enhance,
            reference_metadata,
        )
        if page is not None or page_size is not None:
            offset, limit = page_window(page or 1, page_size or 30)
        return await self._collect(ops.walk_retrieval(self, body, offset, limit))

    async def retrieve_page(
        self,
        question: str,
        dataset_ids: Sequence[str],
        document_ids: Sequence[str] | None = None,
        *,
        page: int = 1,
        page_size: int = 30,
        similarity_threshold: float = 0.2,
        vector_similarity_weight: float = 0.3,
        top_k: int = 1024,
        rerank_id: str | None = None,
        keyword: bool = False,
        highlight: bool = False,
        cross_languages: Sequence[str] | None = None,
        metadata_condition: Mapping[str, Any] | None = None,
        use_kg: bool = False,
        toc_enhance: bool = False,
        reference_metadata: Mapping[str, Any] | None = None,
    ) -> RetrievalResult:
        """One retrieval request: chunks plus ``total`` and ``doc_aggs``."""
        body = ops.retrieval_body(
            question,
            dataset_ids,
            document_ids,
            similarity_threshold,
            vector_similarity_weight,
            top_k,
            rerank_id,
            keyword,
            highlight,
            cross_languages,
            metadata_condition,
            use_kg,
            toc_enhance,
            reference_metadata,
        )
        return RetrievalResult(**await self._run(ops.retrieve_page(self, body, page, page_size)))

    # -- chats ----------------------------------------------------------------------------
    async def create_chat(
        self,
        name: str,
        avatar: str = "",
        dataset_ids: Sequence[str] | None = None,
        llm: Any = None,
        prompt: Any = None,
        **native_fields: Any,
    ) -> AsyncChat:
        """Create a chat assistant (seed ``llm``/``prompt`` translated on new servers)."""
        chat: AsyncChat = await self._run(
            ops.create_chat(self, name, avatar, dataset_ids, llm, prompt, native_fields)
        )
        return chat

    async def get_chat(self, chat_id: str) -> AsyncChat:
        """One chat assistant by id; NotFoundError when missing."""
        chat: AsyncChat = await self._run(ops.get_chat(self, chat_id))
        return chat

    async def list_chats(
        self,
        page: int = 1,
        page_size: int = 1024,
        orderby: str = "create_time",
        desc: bool = True,
        id: str | None = None,
        name: str | None = None,
    ) -> list[AsyncChat]:
        """Page ``page`` of size ``page_size`` (fetched in server pages of <= 100)."""
        offset, limit = page_window(page, page_size)
        return await self._collect(ops.walk_chats(self, offset, limit, orderby, desc, id, name))

    def iter_chats(
        self, orderby: str = "create_time", desc: bool = True, name: str | None = None
    ) -> AsyncIterator[AsyncChat]:
        """Every chat assistant, lazily."""
        return self._iterate(ops.walk_chats(self, 1, None, orderby, desc, None, name))

    async def delete_chats(
        self, ids: Sequence[str] | None = None, *, delete_all: bool = False
    ) -> None:
        """Delete by ids; ``ids=None`` requires ``delete_all=True``; ``[]`` sends nothing."""
        await self._run(ops.delete_chats(self, ids, delete_all))

    @overload
    async def chat_completion(
        self,
        chat_id: str,
        messages: Any,
        *,
        session_id: str | None = None,
        stream: Literal[False] = False,
        **extra: Any,
    ) -> Message: ...

    @overload
    async def chat_completion(
        self,
        chat_id: str,
        messages: Any,
        *,
        session_id: str | None = None,
        stream: Literal[True],
        **extra: Any,
    ) -> AsyncIterator[StreamEvent]: ...

    @overload
    async def chat_completion(
        self,
        chat_id: str,
        messages: Any,
        *,
        session_id: str | None = None,
        stream: bool = False,
        **extra: Any,
    ) -> Any: ...

    async def chat_completion(
        self,
        chat_id: str,
        messages: Any,
        *,
        session_id: str | None = None,
        stream: bool = False,
        **extra: Any,
    ) -> Any:
        """A :class:`Message`, or an async iterator of StreamEvents when streaming."""
        result = await self._run(
            ops.chat_completion(
                self, chat_id, messages, session_id=session_id, stream=stream, extra=extra
            )
        )
        return self._stream(result) if stream else result

    @overload
    async def openai_chat_completion(
        self,
        chat_id: str,
        messages: Any,
        *,
        stream: Literal[False] = False,
        model: str = "model",
        reference: bool = True,
        metadata_condition: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> dict[str, Any]: ...

    @overload
    async def openai_chat_completion(
        self,
        chat_id: str,
        messages: Any,
        *,
        stream: Literal[True],
        model: str = "model",
        reference: bool = True,
        metadata_condition: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> AsyncIterator[dict[str, Any]]: ...

    @overload
    async def openai_chat_completion(
        self,
        chat_id: str,
        messages: Any,
        *,
        stream: bool = False,
        model: str = "model",
        reference: bool = True,
        metadata_condition: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> Any: ...

    async def openai_chat_completion(
        self,
        chat_id: str,
        messages: Any,
        *,
        stream: bool = False,
        model: str = "model",
        reference: bool = True,
        metadata_condition: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> Any:
        """The OpenAI-compatible endpoint: a dict, or an iterator of chunk dicts."""
        result = await self._run(
            ops.openai_chat_completion(
                chat_id,
                messages,
                stream=stream,
                model=model,
                reference=reference,
                metadata_condition=metadata_condition,
                extra=extra,
            )
        )
        return self._stream(result) if stream else result

    # -- agents ---------------------------------------------------------------------------
    async def list_agents(
        self,
        page: int = 1,
        page_size: int = 1024,
        orderby: str = "update_time",
        desc: bool = True,
        id: str | None = None,
        title: str | None = None,
    ) -> list[AsyncAgent]:
        """Page ``page`` of size ``page_size`` of agents (template groups left out)."""
        offset, limit = page_window(page, page_size)
        return await self._collect(ops.walk_agents(self, offset, limit, orderby, desc, id, title))

    def iter_agents(
        self, orderby: str = "update_time", desc: bool = True
    ) -> AsyncIterator[AsyncAgent]:
        """Every agent, lazily."""
        return self._iterate(ops.walk_agents(self, 1, None, orderby, desc))

    async def get_agent(self, agent_id: str) -> AsyncAgent:
        """One agent (with its DSL) by id."""
        agent: AsyncAgent = await self._run(ops.get_agent(self, agent_id))
        return agent

    async def create_agent(
        self, title: str, dsl: Mapping[str, Any], description: str | None = None, **extra: Any
    ) -> AsyncAgent:
        """Create an agent from its DSL (returns the created agent)."""
        agent: AsyncAgent = await self._run(ops.create_agent(self, title, dsl, description, extra))
        return agent

    async def delete_agent(self, agent_id: str) -> None:
        """Delete one agent."""
        await self._run(ops.delete_agent(agent_id))

    @overload
    async def agent_completion(
        self,
        agent_id: str,
        question: str,
        *,
        session_id: str | None = None,
        stream: Literal[False] = False,
        inputs: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> Message: ...

    @overload
    async def agent_completion(
        self,
        agent_id: str,
        question: str,
        *,
        session_id: str | None = None,
        stream: Literal[True],
        inputs: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> AsyncIterator[StreamEvent]: ...

    @overload
    async def agent_completion(
        self,
        agent_id: str,
        question: str,
        *,
        session_id: str | None = None,
        stream: bool = False,
        inputs: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> Any: ...

    async def agent_completion(
        self,
        agent_id: str,
        question: str,
        *,
        session_id: str | None = None,
        stream: bool = False,
        inputs: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> Any:
        """Run an agent: a :class:`Message`, or an iterator of StreamEvents when streaming."""
        result = await self._run(
            ops.agent_completion(
                self,
                agent_id,
                question,
                session_id=session_id,
                stream=stream,
                inputs=inputs,
                extra=extra,
            )
        )
        return self._stream(result) if stream else result

    # -- misc -----------------------------------------------------------------------------
    async def related_questions(self, question: str) -> list[str]:
        """Search terms related to ``question`` (from the tenant's chat model)."""
        result: list[str] = await self._run(ops.related_questions(question))
        return result

    async def get_knowledge_graph(self, dataset_id: str) -> dict[str, Any]:
        """A dataset's knowledge graph: ``graph`` (nodes, edges) and ``mind_map``."""
        result: dict[str, Any] = await self._run(ops.get_knowledge_graph(dataset_id))
        return result

    async def delete_knowledge_graph(self, dataset_id: str) -> None:
        """Delete a dataset's knowledge graph."""
        await self._run(ops.delete_knowledge_graph(dataset_id))
