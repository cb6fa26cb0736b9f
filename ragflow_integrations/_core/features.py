"""What differs between RAGFlow versions, decided once from ``GET /system/version``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from ..errors import FeatureNotSupportedError, RouteNotFoundError

Version = tuple[int, int, int]
OLD_SERVER_VERSION: Version = (0, 22, 0)
"""Assumed when ``/system/version`` answers 404 (servers before v0.25 have no such route)."""


def parse_version(text: str | None) -> Version | None:
    """``"v0.27.0-12-gabc"`` / ``"0.22"`` -> ``(0, 27, 0)`` / ``(0, 22, 0)``; None if unreadable."""
    if not text:
        return None
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", str(text))
    if not match:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)


@dataclass(frozen=True)
class ServerFeatures:
    """Protocol switches for one server version (see docs/client.md, "Compatibility")."""

    version: Version
    version_text: str
    chat_route: Literal["body", "path"]
    """``body``: POST /chat/completions with chat_id; ``path``: /chats/{id}/completions."""
    stream_mode: Literal["delta", "cumulative", "auto"]
    """``auto`` when the version is unknown (v0.22-v0.24 have no version route and v0.24 changed
    the stream form): each stream starts as delta and switches when an answer repeats the text."""
    list_shape: Literal["wrapped", "list"]
    """``wrapped``: chats/agents lists are ``{"chats"|"canvas": [...], "total": N}``."""
    auth_error: Literal["http401", "code109"]
    delete_all: bool
    """The server understands ``{"delete_all": true}`` (else the client deletes listed ids)."""
    update_method: Literal["PATCH", "PUT"]
    openai_route: str
    agent_route: Literal["body", "path"]
    nested_chat_body: bool
    """Chat create/update take the old nested ``llm``/``prompt``/``avatar`` body."""
    stateless_needs_session: bool
    """Completions without ``session_id`` ignore the question (a temporary session is used)."""
    get_routes: bool
    """`GET /datasets/{id}` and `GET /chats/{id}` exist (else the client filters a list)."""
    related_questions_path: str
    graph_path: str
    health_path: str
    dataset_language: bool
    """``language`` can be set through a dataset update (v0.25+; skipped with a warning before)."""
    agent_list_filters: bool
    """``GET /agents`` filters by ``id``/``title`` (before v0.25; newer servers read neither and
    take ``keywords``, so the client filters)."""
    retrieval_document_metadata: bool
    """``POST /retrieval`` answers ``reference_metadata: {"include": true}`` with each chunk's
    ``document_metadata`` (v0.26+; before, the client reads the documents' ``meta_fields``)."""
    chat_update_keeps_datasets: bool
    """A chat update without ``dataset_ids`` keeps the chat's datasets (v0.25+; before, it
    empties them, so the client sends the current ones)."""
    document_metadata_filter: bool
    """``GET /datasets/{id}/documents`` applies ``metadata_condition`` (v0.22 ignores it and
    answers every document; there the client applies it to ``meta_fields`` as well)."""
    metadata_batch: bool
    """``POST /datasets/{id}/metadata/update`` (one value set for many documents) and
    ``GET /datasets/{id}/metadata/summary`` exist (v0.23+; before, one document update each)."""
    metadata_summary_filter: bool
    """The metadata summary reads ``doc_ids`` (v0.25+; before it sums the whole dataset)."""
    auto_metadata_config: bool
    """``GET/PUT /datasets/{id}/metadata/config`` and the per-document config route (v0.25.1+)."""
    index_route: Literal["index", "legacy"]
    """``index``: ``POST/GET /datasets/{id}/index?type=graph|raptor|mindmap`` (v0.25.1+);
    ``legacy``: ``run_graphrag``/``trace_graphrag``/``run_raptor``/``trace_raptor`` only."""
    index_delete_query: bool
    """``DELETE /datasets/{id}/index?type=…`` (v0.25.3+; v0.25.1-v0.25.2 take the type in the
    path, ``DELETE /datasets/{id}/{type}``)."""
    models_api: bool
    """``GET /models`` and ``GET /models/default`` exist (v0.26+)."""
    agent_versions: bool
    """``GET /agents/{id}/versions[/{version_id}]`` exist (v0.25.1+)."""
    agent_session_route: bool
    """``GET /agents/{id}/sessions/{session_id}`` exists (v0.25.1+; before, the client filters
    the session list by ``id``)."""
    message_routes: bool
    """``DELETE /chats/{id}/sessions/{sid}/messages/{mid}`` and ``PUT …/feedback`` (v0.25+)."""

    def unsupported(
        self, feature: str, action: str, *, cause: RouteNotFoundError | None = None
    ) -> FeatureNotSupportedError:
        """The error for ``action`` on a server without ``feature`` (a field of this class)."""
        since = FEATURE_SINCE[feature]
        if cause is not None:
            detail = (
                f"The server has no {cause.method} {cause.path}: {action} needs RAGFlow {since} "
                f"or later (the client took this server for {self.version_text})."
            )
        else:
            detail = (
                f"{action[:1].upper()}{action[1:]} needs RAGFlow {since} or later; this server "
                f"is {self.version_text}."
            )
        hint = " Upgrade the RAGFlow server to use it."
        if self.version_text.startswith("<0.25") and _SINCE[feature] < (0, 25, 0):
            hint += (
                " RAGFlow v0.23-v0.24 cannot be told from v0.22 (they have no "
                "/system/version): on such a server pass server_version='0.24' to the client."
            )
        context = cause.context() if cause is not None else {}
        return FeatureNotSupportedError(
            detail + hint,
            feature=feature,
            minimum_version=since,
            server_version=self.version_text,
            **context,
        )

    @classmethod
    def from_version(cls, version: str | Version | None) -> ServerFeatures:
        """Features for ``version`` (text like ``"v0.27.0"`` or a tuple); ``None`` = old server."""
        if isinstance(version, tuple):
            parsed: Version | None = version
            text = ".".join(str(p) for p in version)
        else:
            parsed = parse_version(version)
            text = str(version or "")
        v = parsed or OLD_SERVER_VERSION
        if not text:
            text = "<0.25 (no /system/version)"
        new = v >= (0, 25, 0)
        return cls(
            version=v,
            version_text=text,
            chat_route="body" if v >= (0, 25, 1) else "path",
            stream_mode=(
                "auto" if parsed is None else "delta" if v >= (0, 24, 0) else "cumulative"
            ),
            list_shape="wrapped" if new else "list",
            auth_error="http401" if new else "code109",
            delete_all=new,
            update_method="PATCH" if new else "PUT",
            openai_route=(
                "/openai/{chat_id}/chat/completions"
                if v >= (0, 25, 1)
                else "/chats_openai/{chat_id}/chat/completions"
            ),
            agent_route="body" if v >= (0, 26, 3) else "path",
            nested_chat_body=not new,
            stateless_needs_session=not new,
            get_routes=new,
            related_questions_path=(
                "/chat/recommendation" if v >= (0, 26, 0) else "/sessions/related_questions"
            ),
            graph_path="/datasets/{dataset_id}/graph"
            if v >= (0, 26, 0)
            else "/datasets/{dataset_id}/knowledge_graph",
            health_path="/system/healthz" if new else "/v1/system/healthz",
            dataset_language=new,
            agent_list_filters=not new,
            retrieval_document_metadata=v >= (0, 26, 0),
            chat_update_keeps_datasets=new,
            document_metadata_filter=new,
            metadata_batch=v >= _SINCE["metadata_batch"],
            metadata_summary_filter=v >= _SINCE["metadata_summary_filter"],
            auto_metadata_config=v >= _SINCE["auto_metadata_config"],
            index_route="index" if v >= _SINCE["index_route"] else "legacy",
            index_delete_query=v >= (0, 25, 3),
            models_api=v >= _SINCE["models_api"],
            agent_versions=v >= _SINCE["agent_versions"],
            agent_session_route=v >= _SINCE["agent_session_route"],
            message_routes=v >= _SINCE["message_routes"],
        )


_SINCE: dict[str, Version] = {
    "metadata_batch": (0, 23, 0),
    "metadata_summary_filter": (0, 25, 0),
    "auto_metadata_config": (0, 25, 1),
    "index_route": (0, 25, 1),
    "models_api": (0, 26, 0),
    "agent_versions": (0, 25, 1),
    "agent_session_route": (0, 25, 1),
    "message_routes": (0, 25, 0),
}
FEATURE_SINCE: dict[str, str] = {name: "v" + ".".join(map(str, v)) for name, v in _SINCE.items()}
"""The first RAGFlow release with each optional feature (read from RAGFlow's own source)."""
