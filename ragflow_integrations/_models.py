"""The base of every returned object: a tolerant pydantic model bound to the client that made it.

Group modules (``resources/``) build their objects on :class:`_Model`; a sync object's methods
reach their client through :class:`SyncObject` (``self._c`` is a ``RAGFlow``), an async object's
through :class:`AsyncObject` (an ``AsyncRAGFlow``). Method mixins of one group (``DataSet``'s
document methods live with the documents) subclass those two.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    PrivateAttr,
    ValidationError,
    ValidatorFunctionWrapHandler,
    model_validator,
)

if TYPE_CHECKING:
    from .client import AsyncRAGFlow, RAGFlow

logger = logging.getLogger("ragflow_integrations")


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="allow", populate_by_name=True, protected_namespaces=(), coerce_numbers_to_str=True
    )
    _client: Any = PrivateAttr(default=None)

    @model_validator(mode="wrap")
    @classmethod
    def _tolerant(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        """A field of an unexpected type falls back to its default instead of failing the object
        (one odd item must not make a whole listing unreadable); the raw value is kept under
        ``raw_<field>``."""
        try:
            return handler(data)
        except ValidationError as exc:
            if not isinstance(data, Mapping):
                raise
            bad = {str(e["loc"][0]) for e in exc.errors() if e.get("loc")}
            if not bad or not bad <= set(data):
                raise
            cleaned = {k: v for k, v in data.items() if k not in bad}
            cleaned.update({f"raw_{k}": data[k] for k in bad})
            logger.debug("%s: ignoring fields of unexpected type: %s", cls.__name__, sorted(bad))
            return handler(cleaned)

    def _bind(self, client: Any) -> _Model:
        self._client = client
        return self

    def _merge(self, data: Mapping[str, Any]) -> None:
        """Refresh this object in place from (some of its) fields sent by the server."""
        self._adopt(type(self).model_validate({**self.model_dump(), **dict(data)}))

    def _replace(self, data: Mapping[str, Any]) -> None:
        """Become the server's whole view of this object (nothing derived from the old one
        survives, e.g. flat chat fields computed from a nested ``prompt``)."""
        self._adopt(type(self).model_validate(dict(data)))

    def _adopt(self, fresh: _Model) -> None:
        for name in type(self).model_fields:
            object.__setattr__(self, name, getattr(fresh, name))
        if fresh.__pydantic_extra__ is not None:
            object.__setattr__(self, "__pydantic_extra__", dict(fresh.__pydantic_extra__))

    def _require_client(self) -> Any:
        if self._client is None:
            raise RuntimeError(
                f"This {type(self).__name__} is not bound to a client; get it from RAGFlow/"
                "AsyncRAGFlow methods instead of constructing it directly."
            )
        return self._client


class _Bound:
    """What a method mixin may use of the model it is mixed into (for the type checker)."""

    if TYPE_CHECKING:
        id: str

        def _require_client(self) -> Any: ...

        def _merge(self, data: Mapping[str, Any]) -> None: ...


class SyncObject(_Bound):
    """Methods of an object made by :class:`~ragflow_integrations.RAGFlow`."""

    @property
    def _c(self) -> RAGFlow:
        client: RAGFlow = self._require_client()
        return client


class AsyncObject(_Bound):
    """Methods of an object made by :class:`~ragflow_integrations.AsyncRAGFlow`."""

    @property
    def _c(self) -> AsyncRAGFlow:
        client: AsyncRAGFlow = self._require_client()
        return client
