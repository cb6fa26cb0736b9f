"""What every command gets: its arguments, where to write, and a client made on first use."""

from __future__ import annotations

import argparse
import os
import re
from dataclasses import dataclass, field
from typing import TextIO

from ..client import RAGFlow
from ..errors import NotFoundError
from ..models import Chat, DataSet
from .codes import CommandError, ExitCode

__all__ = ["CommandContext", "looks_like_id"]

_ID = re.compile(r"^[0-9a-f]{32}$")


def looks_like_id(value: str) -> bool:
    """RAGFlow ids are 32 lower-case hex digits."""
    return bool(_ID.match(value))


@dataclass
class CommandContext:
    args: argparse.Namespace
    out: TextIO
    err: TextIO
    show_progress: bool = False
    _client: RAGFlow | None = field(default=None, repr=False)

    @property
    def client(self) -> RAGFlow:
        """The client for ``--base-url`` / ``--api-key`` (or the environment), made once."""
        if self._client is None:
            if not self.api_key:
                raise CommandError(
                    "no API key: set RAGFLOW_API_KEY (or pass --api-key) to a key created in "
                    "the RAGFlow UI"
                )
            try:
                self._client = RAGFlow(api_key=self.api_key, base_url=self.args.base_url)
            except ValueError as exc:
                raise CommandError(str(exc)) from None
        return self._client

    @property
    def base_url(self) -> str | None:
        return self._client.base_url if self._client is not None else self.args.base_url

    @property
    def api_key(self) -> str:
        """``--api-key``, else ``RAGFLOW_API_KEY`` ('' when neither is set)."""
        key = self.args.api_key
        return str(key if key is not None else os.environ.get("RAGFLOW_API_KEY", ""))

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def dataset(self, name_or_id: str) -> DataSet:
        """The dataset with this id or exact name; exit code 4 when there is none."""
        found = self.find_dataset(name_or_id)
        if found is None:
            raise CommandError(
                f"no dataset named {name_or_id!r} (or with that id); `ragflow-integrations "
                "datasets` lists them",
                ExitCode.NOT_FOUND,
            )
        return found

    def find_dataset(self, name_or_id: str) -> DataSet | None:
        if looks_like_id(name_or_id):
            try:
                return self.client.get_dataset(id=name_or_id)
            except NotFoundError:
                pass
        try:
            return self.client.get_dataset(name=name_or_id)
        except NotFoundError:
            return None

    def chat(self, name_or_id: str) -> Chat:
        """The chat assistant with this id or exact name; exit code 4 when there is none."""
        if looks_like_id(name_or_id):
            try:
                return self.client.get_chat(name_or_id)
            except NotFoundError:
                pass
        try:
            chats = self.client.list_chats(name=name_or_id, page_size=2)
        except NotFoundError:
            chats = []
        chats = [chat for chat in chats if chat.name == name_or_id]
        if not chats:
            raise CommandError(
                f"no chat assistant named {name_or_id!r} (or with that id); create one in the "
                "RAGFlow UI or with RAGFlow.create_chat()",
                ExitCode.NOT_FOUND,
            )
        return chats[0]
