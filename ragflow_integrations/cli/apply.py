"""Applying a sync plan: adopt, upload, parse and wait, delete; each step ends ready or with its
error, so the summary can name every file. The order is what makes a cut-short run safe: an old
copy is deleted only after the copy that replaces it is ready."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from typing import Any

from ..errors import (
    APIConnectionError,
    AuthenticationError,
    DocumentParseError,
    ParseTimeoutError,
    RAGFlowError,
    UploadError,
)
from ..ingest import IngestItem, ingest_documents, wait_for_parsing
from ..models import DataSet, Document
from .codes import one_line
from .context import CommandContext
from .plan import CONTENT_HASH_KEY, SOURCE_PATH_KEY, Action, Plan, Step, base_name

__all__ = ["GROUP_BYTES", "GROUP_FILES", "Apply", "stops_everything"]

GROUP_FILES = 32
"""Files per upload request (the ingestion path's batch size)."""
GROUP_BYTES = 32 << 20
"""Bytes per upload request at most (a larger file goes alone)."""


def _groups(steps: Sequence[Step]) -> Iterator[list[Step]]:
    """Upload groups: at most GROUP_FILES files and GROUP_BYTES bytes, names unique in each (so
    that every stored document is matched to its file, even when the server renames one)."""
    pending = list(steps)
    while pending:
        group: list[Step] = []
        names: set[str] = set()
        size = 0
        rest: list[Step] = []
        for step in pending:
            assert step.file is not None
            fits = len(group) < GROUP_FILES and (not group or size + step.file.size <= GROUP_BYTES)
            if fits and step.file.name not in names:
                group.append(step)
                names.add(step.file.name)
                size += step.file.size
            else:
                rest.append(step)
        yield group
        pending = rest


def stops_everything(error: BaseException | None) -> bool:
    """The server is unreachable (nothing was sent) or rejects the key: stop trying."""
    if isinstance(error, AuthenticationError):
        return True
    return isinstance(error, APIConnectionError) and not error.request_sent


def _reason(error: RAGFlowError, name: str) -> str:
    """The server's words about one file (a batch's message names each failed file)."""
    cause = error.__cause__ if isinstance(error.__cause__, RAGFlowError) else error
    for line in cause.message.splitlines():
        if line.startswith(f"{name}:"):
            return line[len(name) + 1 :].strip()
    return one_line(str(cause))


def _parse_message(document: Document) -> str:
    """The gist of a failed parse's log (RAGFlow keeps the whole log in ``progress_msg``)."""
    lines = [line.strip() for line in str(document.progress_msg or "").splitlines()]
    lines = [line for line in lines if line]
    errors = [line[line.index("[ERROR]") :] for line in lines if "[ERROR]" in line]
    return (errors or lines or [f"parsing ended as {document.run}"])[-1]


class Apply:
    """Applies a plan; each step ends ready or with its error."""

    def __init__(
        self,
        ctx: CommandContext,
        dataset: DataSet,
        documents: dict[str, Document],
        plan: Plan,
    ) -> None:
        self.ctx = ctx
        self.args = ctx.args
        self.dataset = dataset
        self.documents = documents
        self.plan = plan
        self.uploaded: dict[str, Document] = {}

    def run(self) -> RAGFlowError | None:
        """Apply every step; returns the error that stopped it early (server down, bad key)."""
        steps = self.plan.steps
        try:
            self._adopt([s for s in steps if s.adopt])
            self._upload([s for s in steps if s.upload])
            for step in steps:
                if step.keeper is not None and not step.error:
                    step.document_id = step.keeper.id
                    step.ready = step.parse == "none"
            self._parse([s for s in steps if s.document_id and not s.error and not s.ready])
            deleted = self._delete(steps)
            self._restore_names(steps, deleted)
        except RAGFlowError as exc:
            for step in steps:
                if step.action is not Action.STALE and not step.ready and not step.error:
                    step.error = f"not done: {one_line(str(exc))}"
            return exc
        return None

    def _adopt(self, steps: list[Step]) -> None:
        for step in steps:
            assert step.keeper is not None and step.file is not None
            meta = {
                **step.keeper.meta,
                SOURCE_PATH_KEY: step.path,
                CONTENT_HASH_KEY: step.file.sha256,
            }
            try:
                self.documents[step.keeper.id].update({"meta_fields": meta})
            except RAGFlowError as exc:
                if stops_everything(exc):
                    raise
                step.error = f"could not record its path and hash: {one_line(str(exc))}"

    def _upload(self, steps: list[Step]) -> None:
        if not steps:
            return
        bar = _bar(self.ctx, len(steps), "Uploading")
        try:
            for group in _groups(steps):
                self._upload_group(group)
                if bar is not None:
                    bar.update(len(group))
        finally:
            if bar is not None:
                bar.close()

    def _upload_group(self, group: list[Step]) -> None:
        items: list[IngestItem] = []
        sending: list[Step] = []
        for step in group:
            assert step.file is not None
            try:
                blob = step.file.location.read_bytes()
            except OSError as exc:
                step.error = f"cannot read the file: {exc.strerror or exc}"
                continue
            meta = {SOURCE_PATH_KEY: step.path, CONTENT_HASH_KEY: hashlib.sha256(blob).hexdigest()}
            items.append(IngestItem(step.file.name, blob, meta))
            sending.append(step)
        if not items:
            return
        error: UploadError | None = None
        try:
            stored = ingest_documents(
                self.dataset,
                items,
                parse=self.args.parse,
                wait=False,
                batch_size=len(items),
            )
            unparsed: list[Any] = []
        except UploadError as exc:
            error, stored, unparsed = exc, list(exc.uploaded), list(exc.unparsed)
        by_name: dict[str, Step] = {s.file.name: s for s in sending if s.file is not None}
        for document in stored:
            name = document.name if document.name in by_name else base_name(document.name)
            if name in by_name:
                uploaded = by_name.pop(name)
                uploaded.document_id = document.id
                uploaded.ready = not self.args.parse
                self.uploaded[document.id] = document
        not_started = {document.id for document in unparsed}
        for step in sending:
            if step.document_id is None:
                assert error is not None and step.file is not None
                step.error = f"upload failed: {_reason(error, step.file.name)}"
            elif step.document_id in not_started:
                assert error is not None
                step.error = f"uploaded, but parsing did not start: {one_line(str(error))}"
        cause = error.__cause__ if error is not None else None
        if isinstance(cause, RAGFlowError) and stops_everything(cause):
            raise cause

    def _parse(self, steps: list[Step]) -> None:
        if not steps:
            return
        start = [s.document_id for s in steps if s.parse == "start" and s.keeper is not None]
        if start:
            try:
                self.dataset.async_parse_documents([i for i in start if i])
            except RAGFlowError as exc:
                if stops_everything(exc):
                    raise
                for step in steps:
                    if step.document_id in start:
                        step.error = f"parsing did not start: {one_line(str(exc))}"
        waiting = {s.document_id: s for s in steps if s.document_id and not s.error}
        if not waiting:
            return
        latest: dict[str, Document] = {}

        def remember(documents: Sequence[Document]) -> None:
            latest.update({document.id: document for document in documents})

        timed_out = False
        try:
            wait_for_parsing(
                self.dataset,
                list(waiting),
                timeout=self.args.timeout,
                poll_interval=self.args.poll_interval,
                show_progress=self.ctx.show_progress,
                on_progress=remember,
            )
        except DocumentParseError:
            pass  # each failure is read from the last poll below
        except ParseTimeoutError:
            timed_out = True
        for document_id, step in waiting.items():
            document = latest.get(document_id)
            if document is None:
                step.error = "the document disappeared while parsing"
            elif document.run == "DONE":
                step.ready = True
            elif timed_out and document.run not in ("FAIL", "CANCEL"):
                step.error = (
                    f"still parsing after {self.args.timeout:g} s (run sync again later, or "
                    "raise --timeout)"
                )
            else:
                step.error = f"parsing failed: {_parse_message(document)}"

    def _delete(self, steps: list[Step]) -> set[str]:
        """Delete the obsolete copies of ready steps and of gone files; returns their ids."""
        doomed: dict[str, Step] = {}
        for step in steps:
            if step.error or step.action is Action.STALE:
                continue
            if step.action is Action.DELETED or step.ready:
                doomed.update({remote.id: step for remote in step.obsolete})
        if not doomed:
            return set()
        try:
            self.dataset.delete_documents(list(doomed))
        except RAGFlowError as exc:
            if stops_everything(exc):
                raise
            for step in {id(step): step for step in doomed.values()}.values():
                step.error = f"could not delete the old copies: {one_line(str(exc))}"
            return set()
        for step in doomed.values():
            if step.action is Action.DELETED:
                step.ready = True
        return set(doomed)

    def _restore_names(self, steps: list[Step], deleted: set[str]) -> None:
        """A new copy uploaded next to its old one was stored as ``name(1).ext``; with the old
        one gone, give it the file's name back (best effort: the name is cosmetic)."""
        names = {d.name for i, d in self.documents.items() if i not in deleted}
        names |= {d.name for d in self.uploaded.values()}
        for step in steps:
            document = self.uploaded.get(step.document_id or "")
            if document is None or step.file is None or step.error or not step.ready:
                continue
            if document.name != step.file.name and step.file.name not in names:
                try:
                    document.update({"name": step.file.name})
                except RAGFlowError as exc:
                    if stops_everything(exc):
                        raise
                    continue
                names.add(step.file.name)


def _bar(ctx: CommandContext, total: int, label: str) -> Any:
    if not ctx.show_progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=label, unit="file", file=ctx.err)
