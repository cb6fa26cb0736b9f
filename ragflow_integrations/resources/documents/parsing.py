"""Parsing: how a dataset's documents are cut into chunks, and the parse runs themselves.

:class:`ParserConfig` (a dataset's or a document's ``parser_config``) and the translation of the
seed's keys; the operations that start, cancel and wait for parsing (``/datasets/{id}/chunks``
and one listing per poll); :class:`DataSetParsing` are ``DataSet``'s parse methods. Methods call
the operation of the same name defined in this module.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

from ..._core.features import ServerFeatures
from ..._core.ops import (
    FEATURES,
    Context,
    Op,
    as_dict,
    as_id_list,
    batches,
    call,
    data_of,
    items_of,
    logger,
    seg,
)
from ..._core.paging import PageWalker
from ..._core.request import make_params
from ..._core.waiting import check_wait_arguments, poll_until, progress_bar
from ..._models import AsyncObject, SyncObject
from ...errors import DocumentParseError, ParseFailure, ParseTimeoutError, RAGFlowError

if TYPE_CHECKING:
    from .documents import AsyncDocument, Document

# ----------------------------------------------------------------------------------------------
# parser configuration
# ----------------------------------------------------------------------------------------------

_PARSER_CONFIG_SEED_NAMES = {"chunk_token_count": "chunk_token_num"}


class ParserConfig(dict[str, Any]):
    """A parser configuration: a dict that also allows the seed's attribute access.

    ``config.chunk_token_num`` / ``config["chunk_token_num"]``; the seed name
    ``chunk_token_count`` reads ``chunk_token_num``; nested dicts (``raptor``) read the same way.
    ``DataSet.ParserConfig(chunk_token_count=128, layout_recognize=True)`` builds one to pass to
    ``create_dataset`` (seed keys are translated when sent).
    """

    def __getattr__(self, name: str) -> Any:
        key = name if name in self else _PARSER_CONFIG_SEED_NAMES.get(name, name)
        try:
            value = self[key]
        except KeyError:
            raise AttributeError(f"parser_config has no {name!r}") from None
        return ParserConfig(value) if isinstance(value, dict) else value

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(cls, handler(dict[str, Any]))


def translate_parser_config(config: Any) -> dict[str, Any] | None:
    """Seed parser_config keys to current ones (chunk_token_count, bool layout_recognize)."""
    if config is None:
        return None
    cfg = as_dict(config, "parser_config")
    if "chunk_token_count" in cfg:
        cfg.setdefault("chunk_token_num", cfg["chunk_token_count"])
        del cfg["chunk_token_count"]
    layout = cfg.get("layout_recognize")
    if isinstance(layout, bool):
        cfg["layout_recognize"] = "DeepDOC" if layout else "Plain Text"
    raptor = cfg.get("raptor")
    if isinstance(raptor, Mapping) and "user_raptor" in raptor:
        raptor = dict(raptor)
        raptor.setdefault("use_raptor", raptor.pop("user_raptor"))
        cfg["raptor"] = raptor
    return cfg


# ----------------------------------------------------------------------------------------------
# operations
# ----------------------------------------------------------------------------------------------


def parse_documents_start(dataset_id: str, document_ids: Sequence[str]) -> Op:
    ids = _id_list(document_ids, "document_ids")
    if ids:
        yield call("POST", f"/datasets/{seg(dataset_id)}/chunks", json={"document_ids": ids})


def parse_documents_cancel(dataset_id: str, document_ids: Sequence[str]) -> Op:
    ids = _id_list(document_ids, "document_ids")
    if ids:
        yield call("DELETE", f"/datasets/{seg(dataset_id)}/chunks", json={"document_ids": ids})


def _id_list(ids: Sequence[str], what: str) -> list[str]:
    return as_id_list(ids, what)


FINISHED_RUNS = {"DONE", "FAIL", "CANCEL", "3", "4", "2"}


def _is_finished(doc: Mapping[str, Any]) -> bool:
    run = str(doc.get("run", "")).upper()
    progress = doc.get("progress")
    return (
        run in FINISHED_RUNS
        or progress == -1
        or (isinstance(progress, (int, float)) and progress >= 1 and run not in {"RUNNING", "1"})
    )


def _is_failed(doc: Mapping[str, Any]) -> bool:
    run = str(doc.get("run", "")).upper()
    return run in {"FAIL", "CANCEL", "4", "2"} or doc.get("progress") == -1


ProgressCallback = Callable[[Sequence[Any]], None]


def wait_for_parsing(
    ctx: Context,
    dataset_id: str,
    document_ids: Sequence[str],
    *,
    timeout: float = 600.0,
    poll_interval: float = 1.0,
    on_progress: ProgressCallback | None = None,
    show_progress: bool = False,
    cancel_on_timeout: bool = False,
    clock: Callable[[], float] = time.monotonic,
) -> Op:
    """Poll until every document finished: each poll lists only documents still unfinished
    (``ids`` filter, ≤ 100 per request, oldest first, stopping at the first group still
    parsing), so each document is read about once however long the wait.

    Returns the documents; raises :class:`DocumentParseError` naming each failure and its
    ``progress_msg``, or :class:`ParseTimeoutError` (after cancelling when asked).
    """
    ids = _id_list(document_ids, "document_ids")
    if not ids:
        return []
    check_wait_arguments(timeout, poll_interval)
    features: ServerFeatures = yield FEATURES
    bar = progress_bar(len(ids), "Parsing", "doc") if show_progress else None
    latest: dict[str, dict[str, Any]] = {}
    gone: set[str] = set()  # listed by no poll any more: deleted meanwhile

    def unfinished() -> list[str]:
        return [i for i in ids if i not in gone and not (i in latest and _is_finished(latest[i]))]

    def poll() -> Op:
        # Oldest first, and no further once a group holds a document still parsing: RAGFlow
        # parses in the order parsing was started, so the later ones are most likely still
        # unfinished too (the next poll reads them). Each finished document is read ~once.
        pending = unfinished()
        groups = list(batches(pending)) if features.delete_all else [pending]
        for group in groups:
            found = yield from poll_documents(dataset_id, group, features)
            latest.update(found)
            gone.update(i for i in group if i not in found)
            if not all(_is_finished(row) for row in found.values()):
                break
        return pending

    def report(_: Any) -> None:
        if bar is not None:
            bar.n = len(ids) - len(unfinished())
            bar.refresh()
        if on_progress is not None:
            on_progress([ctx.wrap("document", latest[i]) for i in ids if i in latest])

    try:
        _, finished = yield from poll_until(
            poll,
            lambda _: not unfinished(),
            timeout=timeout,
            poll_interval=poll_interval,
            on_result=report,
            clock=clock,
        )
    finally:
        if bar is not None:
            bar.close()
    if not finished:
        pending_docs = [ctx.wrap("document", latest[i]) for i in unfinished() if i in latest]
        cancelled = False
        cancel_error: RAGFlowError | None = None
        if cancel_on_timeout:
            try:
                yield from parse_documents_cancel(dataset_id, [d.id for d in pending_docs])
                cancelled = True
            except RAGFlowError as exc:  # refused, dropped, garbled: report the timeout
                logger.warning("Could not cancel parsing after the timeout: %s", exc)
                cancel_error = exc
        raise ParseTimeoutError(
            pending_docs, timeout=timeout, cancelled=cancelled, cancel_error=cancel_error
        ) from cancel_error
    docs = [ctx.wrap("document", latest[i]) for i in ids if i in latest]
    failures = [
        ParseFailure(
            i,
            str(latest[i].get("name", "")),
            str(latest[i].get("progress_msg") or latest[i].get("run", "")),
        )
        for i in ids
        if i in latest and _is_failed(latest[i])
    ]
    failures += [ParseFailure(i, "", "the document no longer exists") for i in ids if i in gone]
    if failures:
        raise DocumentParseError(failures, documents=docs)
    return docs


def poll_documents(dataset_id: str, ids: Sequence[str], features: ServerFeatures) -> Op:
    """The rows of the documents ``ids`` that still exist, by id: listed with the ``ids``
    filter (≤ 100 per request) where the server has it, else by walking the listing."""
    found: dict[str, dict[str, Any]] = {}
    path = f"/datasets/{seg(dataset_id)}/documents"
    if features.delete_all:  # v0.25+: the ids filter exists
        for batch in batches(list(ids)):
            response = yield call(
                "GET", path, params=make_params(ids=batch, page=1, page_size=len(batch))
            )
            items, _ = items_of(data_of(response), "docs")
            found.update({str(d["id"]): dict(d) for d in items if isinstance(d, Mapping)})
        return found
    wanted = set(ids)
    walker = PageWalker(1, None)
    while (request := walker.next_request()) is not None:
        response = yield call(
            "GET", path, params=make_params(page=request[0], page_size=request[1])
        )
        items, total = items_of(data_of(response), "docs")
        for d in walker.accept(items, total):
            if isinstance(d, Mapping) and d.get("id") in wanted:
                found[str(d["id"])] = dict(d)
        if len(found) == len(wanted):
            break
    return found


# ----------------------------------------------------------------------------------------------
# DataSet's parse methods
# ----------------------------------------------------------------------------------------------


class DataSetParsing(SyncObject):
    """``DataSet``'s parse methods: start, cancel, and start then wait."""

    def async_parse_documents(self, document_ids: Sequence[str]) -> None:
        """Start parsing (returns at once)."""
        self._c._run(parse_documents_start(self.id, document_ids))

    def async_cancel_parse_documents(self, document_ids: Sequence[str]) -> None:
        """Stop parsing documents that are running."""
        self._c._run(parse_documents_cancel(self.id, document_ids))

    def parse_documents(
        self,
        document_ids: Sequence[str],
        *,
        timeout: float = 600.0,
        poll_interval: float = 1.0,
        on_progress: ProgressCallback | None = None,
        show_progress: bool = False,
        cancel_on_timeout: bool = False,
    ) -> list[Document]:
        """Start parsing and wait; raises DocumentParseError / ParseTimeoutError."""
        self.async_parse_documents(document_ids)
        result: list[Document] = self._c._run(
            wait_for_parsing(
                self._c,
                self.id,
                document_ids,
                timeout=timeout,
                poll_interval=poll_interval,
                on_progress=on_progress,
                show_progress=show_progress,
                cancel_on_timeout=cancel_on_timeout,
            )
        )
        return result


class AsyncDataSetParsing(AsyncObject):
    """Async twin of :class:`DataSetParsing`."""

    async def async_parse_documents(self, document_ids: Sequence[str]) -> None:
        """Start parsing (returns at once)."""
        await self._c._run(parse_documents_start(self.id, document_ids))

    async def async_cancel_parse_documents(self, document_ids: Sequence[str]) -> None:
        """Stop parsing documents that are running."""
        await self._c._run(parse_documents_cancel(self.id, document_ids))

    async def parse_documents(
        self,
        document_ids: Sequence[str],
        *,
        timeout: float = 600.0,
        poll_interval: float = 1.0,
        on_progress: ProgressCallback | None = None,
        show_progress: bool = False,
        cancel_on_timeout: bool = False,
    ) -> list[AsyncDocument]:
        """Start parsing and wait; raises DocumentParseError / ParseTimeoutError."""
        await self.async_parse_documents(document_ids)
        result: list[AsyncDocument] = await self._c._run(
            wait_for_parsing(
                self._c,
                self.id,
                document_ids,
                timeout=timeout,
                poll_interval=poll_interval,
                on_progress=on_progress,
                show_progress=show_progress,
                cancel_on_timeout=cancel_on_timeout,
            )
        )
        return result
