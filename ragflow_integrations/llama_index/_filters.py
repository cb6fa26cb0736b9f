"""LlamaIndex ``MetadataFilters`` as RAGFlow's ``metadata_condition`` (reference §3.6)."""

from __future__ import annotations

from typing import Any

from llama_index.core.vector_stores.types import (
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
)

from ragflow_integrations._metadata_filters import condition as ragflow_condition
from ragflow_integrations._metadata_filters import metadata_condition

#: LlamaIndex operator -> the shared operator name (``_metadata_filters.OPERATORS`` gives RAGFlow's
#: ``comparison_operator``). RAGFlow compares strings case-insensitively and ``YYYY-MM-DD``
#: strings as dates; ``contains`` is a substring test on the value (on each item of a list value).
OPERATORS: dict[FilterOperator, str] = {
    FilterOperator.EQ: "eq",
    FilterOperator.NE: "ne",
    FilterOperator.GT: "gt",
    FilterOperator.GTE: "gte",
    FilterOperator.LT: "lt",
    FilterOperator.LTE: "lte",
    FilterOperator.IN: "in",
    FilterOperator.NIN: "nin",
    FilterOperator.CONTAINS: "contains",
    FilterOperator.TEXT_MATCH: "contains",
    FilterOperator.TEXT_MATCH_INSENSITIVE: "contains",
    FilterOperator.IS_EMPTY: "is_empty",
}
_SUPPORTED = ", ".join(op.name for op in OPERATORS)


def filters_to_metadata_condition(filters: MetadataFilters) -> dict[str, Any] | None:
    """``filters`` as ``{"logic": "and"|"or", "conditions": [{name, comparison_operator, value}]}``.

    An empty ``MetadataFilters`` gives ``None`` (no filter).

    Raises ``ValueError`` for what RAGFlow cannot express: ``NOT``, nested ``MetadataFilters``
    (RAGFlow takes one flat list joined by one logic), and the ``ANY`` / ``ALL`` operators.
    """
    if not isinstance(filters, MetadataFilters):
        raise TypeError(
            f"filters must be a llama_index MetadataFilters, got {type(filters).__name__}; "
            "pass a raw RAGFlow filter as metadata_condition={...} instead"
        )
    condition = filters.condition or FilterCondition.AND
    if condition not in (FilterCondition.AND, FilterCondition.OR):
        raise ValueError(
            f"RAGFlow metadata filters support condition AND or OR, not {condition.name}; "
            "rewrite the filter with the opposite operators (e.g. NE instead of NOT EQ)"
        )
    conditions = []
    for item in filters.filters:
        if not isinstance(item, MetadataFilter):
            raise ValueError(
                "RAGFlow metadata filters are one flat list joined by AND or OR: nested "
                "MetadataFilters are not supported; flatten them (IN / NIN express an OR over "
                "values of one key)"
            )
        operator = OPERATORS.get(item.operator)
        if operator is None:
            raise ValueError(
                f"RAGFlow has no metadata operator for FilterOperator.{item.operator.name} "
                f"(key {item.key!r}); supported: {_SUPPORTED}"
            )
        conditions.append(ragflow_condition(item.key, operator, item.value))
    return metadata_condition(condition.value, conditions)
