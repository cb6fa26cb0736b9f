"""Lazy paging under faults: a page that fails in the middle of an ``iter_*`` walk is retried,
and the walk yields every item exactly once."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import Any

import pytest
from _reliability import WireLog, pending_fault_uses, unique

from ragflow_integrations import AsyncRAGFlow, RAGFlow
from ragflow_integrations.testing import LocalRAGFlowServer

pytestmark = pytest.mark.live

FILES = 250  # three server pages of (at most) 100


@pytest.fixture(scope="module")
def big_dataset(server: LocalRAGFlowServer) -> Any:
    with RAGFlow(api_key=server.api_key, base_url=server.base_url, server_version="0.27") as c:
        dataset = c.create_dataset(name=unique("paging"))
        docs = dataset.upload_documents(
            [{"display_name": f"f{i:03}.txt", "blob": f"file {i}".encode()} for i in range(FILES)]
        )
        assert len(docs) == FILES
        return dataset


FAULTS: dict[str, dict[str, Any]] = {
    "503 x2": {"status": 503, "times": 2},
    "body cut": {"cut_stream_after": 0, "times": 1},
    "connection dropped": {"drop_connection": True, "times": 1},
}


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("flavour", ["sync", "async"])
async def test_page_failing_mid_walk_loses_and_repeats_nothing(
    server: LocalRAGFlowServer,
    big_dataset: Any,
    make_client: Callable[..., RAGFlow],
    make_async_client: Callable[..., AsyncRAGFlow],
    wire: WireLog,
    ledger: Callable[..., None],
    flavour: str,
    fault: str,
) -> None:
    route = f"/datasets/{big_dataset.id}/documents"
    spec = FAULTS[fault]
    started = time.monotonic()
    ids: list[str] = []
    if flavour == "sync":
        walk = make_client(max_retries=3).get_dataset(big_dataset.id).iter_documents()
        ids += [d.id for d in itertools.islice(walk, 150)]  # pages 1-2 fetched lazily
        server.inject_fault(route, "GET", **spec)
        ids += [d.id for d in walk]
    else:
        dataset = await make_async_client(max_retries=3).get_dataset(big_dataset.id)
        awalk = dataset.iter_documents()
        async for doc in awalk:
            ids.append(doc.id)
            if len(ids) == 150:
                server.inject_fault(route, "GET", **spec)
    elapsed = time.monotonic() - started
    assert len(ids) == FILES and len(set(ids)) == FILES
    fired = spec["times"] - pending_fault_uses(server.base_url, server.api_key)
    assert fired == spec["times"], "the fault hit a page request"
    pages = wire.to(route, "GET")
    ledger(
        area="paging",
        fault=f"{fault} on the 3rd page of a {flavour} iter_documents walk ({FILES} documents)",
        injected=fired,
        requests_sent=len(pages),
        caller_saw=f"{len(ids)} documents",
        data_check=f"{len(set(ids))} unique of {FILES}: nothing lost, nothing repeated",
        seconds=elapsed,
    )
