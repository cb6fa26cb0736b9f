"""Messages of a chat session: the answer object, deleting a question/answer pair, and thumbs
up/down feedback on an answer.

Operations (``DELETE /chats/{id}/sessions/{sid}/messages/{mid}``, ``PUT …/{mid}/feedback``;
RAGFlow v0.25+: RAGFlow v0.22-v0.24 offer neither to an API key, so an older server gets a
``FeatureNotSupportedError`` naming v0.25.0); :class:`Message` and its async twin
:class:`AsyncMessage`; the client methods :class:`ChatMessages` / :class:`AsyncChatMessages`.
Methods call the operation of the same name defined in this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import Field

from ..._base_client import AsyncAPIClient, SyncAPIClient
from ..._core.ops import Context, Op, call_feature, object_of, require, seg
from ..._models import AsyncObject, _Model
from ...errors import NotFoundError
from ..chunks import Chunk

if TYPE_CHECKING:
    from .sessions import AsyncSession, Session

# ----------------------------------------------------------------------------------------------
# operations
# ----------------------------------------------------------------------------------------------


def _session_path(chat_id: str, session_id: str) -> str:
    return f"/chats/{seg(chat_id, 'chat_id')}/sessions/{seg(session_id, 'session_id')}"


def _stored_message(
    chat_id: str, session_id: str, message_id: str, role: str | None, action: str
) -> Op:
    """Check that the session holds the message (RAGFlow answers success for an unknown id
    and changes nothing); a NotFoundError otherwise."""
    path = _session_path(chat_id, session_id)
    response = yield from call_feature("message_routes", action, "GET", path)
    session = object_of(response, "a session")
    messages = session.get("messages") or session.get("message") or []
    if not any(
        isinstance(m, Mapping)
        and m.get("id") == message_id
        and (role is None or m.get("role") == role)
        for m in messages
    ):
        what = "answer" if role == "assistant" else "message"
        raise NotFoundError(
            f"Session {session_id} of chat {chat_id} holds no {what} with id {message_id!r}",
            method="GET",
            path=path,
        )


def _as_session(ctx: Context, response: Any, chat_id: str) -> Any:
    data = object_of(response, "the session")
    if "messages" not in data and "message" in data:
        data["messages"] = data.pop("message")
    data.setdefault("chat_id", chat_id)
    return ctx.wrap("session", data)


def delete_message(ctx: Context, chat_id: str, session_id: str, message_id: str) -> Op:
    """Remove a question and its answer (they share the id) from a session; returns the
    session as the server holds it after."""
    seg(message_id, "message_id")
    yield from require("message_routes", "deleting a message")
    yield from _stored_message(chat_id, session_id, message_id, None, "deleting a message")
    response = yield from call_feature(
        "message_routes",
        "deleting a message",
        "DELETE",
        f"{_session_path(chat_id, session_id)}/messages/{seg(message_id, 'message_id')}",
    )
    return _as_session(ctx, response, chat_id)


def message_feedback(
    ctx: Context,
    chat_id: str,
    session_id: str,
    message_id: str,
    thumbup: bool,
    feedback: str = "",
) -> Op:
    """Thumbs up (``thumbup=True``) or down with an optional ``feedback`` text on an answer;
    returns the session as the server holds it after."""
    seg(message_id, "message_id")
    if not isinstance(thumbup, bool):
        raise TypeError(f"thumbup must be True or False (got {type(thumbup).__name__})")
    if not isinstance(feedback, str):
        raise TypeError(f"feedback must be a str (got {type(feedback).__name__})")
    if feedback and thumbup:
        raise ValueError(
            "feedback text goes with thumbup=False: RAGFlow keeps no text with a thumbs up "
            "(it clears the earlier text)"
        )
    action = "giving feedback on an answer"
    yield from require("message_routes", action)
    yield from _stored_message(chat_id, session_id, message_id, "assistant", action)
    body: dict[str, Any] = {"thumbup": thumbup}
    if feedback:
        body["feedback"] = feedback
    response = yield from call_feature(
        "message_routes",
        action,
        "PUT",
        f"{_session_path(chat_id, session_id)}/messages/{seg(message_id, 'message_id')}/feedback",
        json=body,
    )
    return _as_session(ctx, response, chat_id)


# ----------------------------------------------------------------------------------------------
# objects
# ----------------------------------------------------------------------------------------------


class Message(_Model):
    """An answer (or one streamed step of it: ``content`` is the whole answer so far, always the
    concatenation of the deltas; ``final_content`` is set on a streamed final message when the
    server's last answer rewrote the streamed text, as RAGFlow before v0.24 does to insert
    citation markers).

    An answer stored in a chat session (``chat_id`` and ``session_id`` set) can be deleted with
    its question (:meth:`delete`) and rated (:meth:`feedback`).
    """

    id: str | None = None
    role: str = "assistant"
    content: str = ""
    delta: str = ""
    reasoning: str = ""
    reasoning_delta: str = ""
    reference: list[Chunk] = Field(default_factory=list)
    doc_aggs: list[Any] = Field(default_factory=list)
    session_id: str | None = None
    chat_id: str | None = None
    final: bool = True
    final_content: str | None = None
    usage: dict[str, Any] | None = None
    thumbup: bool | None = None
    feedback_text: str | None = None

    def _where(self) -> tuple[str, str, str]:
        if not (self.chat_id and self.session_id and self.id):
            raise ValueError(
                "This answer is not stored in a chat session (a stateless completion, an agent "
                "answer or a message built by hand): only answers of Session.ask / "
                "chat_completion(session_id=...) can be deleted or rated"
            )
        return self.chat_id, self.session_id, self.id

    def _rated(self, session: Any) -> None:
        for stored in getattr(session, "messages", []):
            if (
                isinstance(stored, Mapping)
                and stored.get("id") == self.id
                and stored.get("role") == "assistant"
            ):
                self.thumbup = stored.get("thumbup")
                self.feedback_text = stored.get("feedback")

    def delete(self) -> None:
        """Delete this answer and its question from the session (RAGFlow v0.25+)."""
        chat_id, session_id, message_id = self._where()
        client: Any = self._require_client()
        client._run(delete_message(client, chat_id, session_id, message_id))

    def feedback(self, thumbup: bool, feedback: str = "") -> Message:
        """Rate this answer: thumbs up, or down with an optional text (RAGFlow v0.25+);
        ``thumbup`` / ``feedback_text`` show what the server stored."""
        chat_id, session_id, message_id = self._where()
        client: Any = self._require_client()
        session = client._run(
            message_feedback(client, chat_id, session_id, message_id, thumbup, feedback)
        )
        self._rated(session)
        return self


class AsyncMessage(Message, AsyncObject):
    """:class:`Message` made by an ``AsyncRAGFlow``: ``delete`` and ``feedback`` are awaited."""

    async def delete(self) -> None:  # type: ignore[override]
        """Delete this answer and its question from the session (RAGFlow v0.25+)."""
        chat_id, session_id, message_id = self._where()
        await self._c._run(delete_message(self._c, chat_id, session_id, message_id))

    async def feedback(self, thumbup: bool, feedback: str = "") -> AsyncMessage:  # type: ignore[override]
        """Rate this answer: thumbs up, or down with an optional text (RAGFlow v0.25+);
        ``thumbup`` / ``feedback_text`` show what the server stored."""
        chat_id, session_id, message_id = self._where()
        session = await self._c._run(
            message_feedback(self._c, chat_id, session_id, message_id, thumbup, feedback)
        )
        self._rated(session)
        return self


# ----------------------------------------------------------------------------------------------
# client methods
# ----------------------------------------------------------------------------------------------


class ChatMessages(SyncAPIClient):
    """``RAGFlow.delete_message`` / ``message_feedback``."""

    def delete_message(self, chat_id: str, session_id: str, message_id: str) -> Session:
        """Delete a question and its answer (they share ``message_id``) from a chat session;
        returns the session after (RAGFlow v0.25+)."""
        session: Session = self._run(delete_message(self, chat_id, session_id, message_id))
        return session

    def message_feedback(
        self,
        chat_id: str,
        session_id: str,
        message_id: str,
        thumbup: bool,
        feedback: str = "",
    ) -> Session:
        """Thumbs up or down (with an optional ``feedback`` text) on an answer; returns the
        session after (RAGFlow v0.25+)."""
        session: Session = self._run(
            message_feedback(self, chat_id, session_id, message_id, thumbup, feedback)
        )
        return session


class AsyncChatMessages(AsyncAPIClient):
    """Async twin of :class:`ChatMessages`."""

    async def delete_message(self, chat_id: str, session_id: str, message_id: str) -> AsyncSession:
        """Delete a question and its answer (they share ``message_id``) from a chat session;
        returns the session after (RAGFlow v0.25+)."""
        session: AsyncSession = await self._run(
            delete_message(self, chat_id, session_id, message_id)
        )
        return session

    async def message_feedback(
        self,
        chat_id: str,
        session_id: str,
        message_id: str,
        thumbup: bool,
        feedback: str = "",
    ) -> AsyncSession:
        """Thumbs up or down (with an optional ``feedback`` text) on an answer; returns the
        session after (RAGFlow v0.25+)."""
        session: AsyncSession = await self._run(
            message_feedback(self, chat_id, session_id, message_id, thumbup, feedback)
        )
        return session
