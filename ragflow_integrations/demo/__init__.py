"""A one-command tour of ragflow_integrations: ``python -m ragflow_integrations.demo``.

The package ships five small documents (Markdown, text, HTML, CSV, JSON) in ``demo/data`` so the
demo, the README and the notebooks have something real to ingest. :func:`sample_documents`
returns them in the shape :meth:`DataSet.upload_documents` takes.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

__all__ = ["sample_document_names", "sample_documents"]

_DATA_PACKAGE = "ragflow_integrations.demo"


def sample_document_names() -> list[str]:
    """File names of the shipped sample documents, sorted."""
    data = resources.files(_DATA_PACKAGE).joinpath("data")
    return sorted(entry.name for entry in data.iterdir() if entry.is_file())


def sample_documents() -> list[dict[str, Any]]:
    """The shipped sample documents as ``{"display_name": name, "blob": bytes}`` dicts."""
    data = resources.files(_DATA_PACKAGE).joinpath("data")
    return [
        {"display_name": name, "blob": data.joinpath(name).read_bytes()}
        for name in sample_document_names()
    ]
