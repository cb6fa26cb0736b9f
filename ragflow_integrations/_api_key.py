"""The one rule both adapters apply to an explicitly passed API key (private)."""

from __future__ import annotations

from typing import Any

EMPTY_API_KEY = (
    "api_key is empty: pass your RAGFlow API key (api_key='ragflow-...'), or leave api_key out "
    "to use the RAGFLOW_API_KEY environment variable"
)


def refuse_empty_key(api_key: Any) -> None:
    """``ValueError`` for an explicit empty key (a ``str`` or a pydantic ``SecretStr``).

    ``RAGFlow(api_key="")`` refuses an empty key; a component must not read ``""`` as "not given"
    and quietly fall back to ``RAGFLOW_API_KEY`` (another key, maybe another tenant's).
    """
    value = api_key.get_secret_value() if hasattr(api_key, "get_secret_value") else api_key
    if value is not None and not value:
        raise ValueError(EMPTY_API_KEY)
