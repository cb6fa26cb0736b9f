"""No delete ever sends ``ids: null`` (which deletes everything on servers up to v0.24).

Every delete method is called with ids, with ``[]``, with ``None`` and with ``delete_all=True`` on
a v0.27 and a v0.22 server; the recording transport shows what reached the server, and a count
afterwards shows that the data that should survive did.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from _reliability import FACTS, WireLog, WireRequest, describe_error, unique
from agent_canvas import canvas

from ragflow_integrations import RAGFlow
from ragflow_integrations.testing import LocalRAGFlowServer

pytestmark = pytest.mark.live

KEY = "ragflow-delete-tests-key"
MODES = ["0.27", "0.22"]
VARIANTS = ["ids", "empty", "none", "delete_all"]


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, LocalRAGFlowServer]]:
    """Private servers: ``delete_all`` wipes whole collections, which must not hit other tests."""
    with (
        LocalRAGFlowServer(api_key=KEY, emulate="0.27") as new,
        LocalRAGFlowServer(api_key=KEY, emulate="0.22") as old,
    ):
        yield {"0.27": new, "0.22": old}


@dataclass
class Scene:
    """What a delete acts on, and how to observe what exists.

    ``victims`` are deleted by id; ``siblings`` share their container (gone with
    ``delete_all=True``); ``outsiders`` must survive every variant.
    """

    delete: Callable[..., None]
    victims: list[str]
    siblings: set[str]
    outsiders: set[str]
    alive: Callable[[], set[str]]
    id_key: str = "ids"


def _make_agent(srv: LocalRAGFlowServer, client: RAGFlow, dataset_id: str) -> Any:
    title = unique("agent")
    response = requests.post(
        f"{srv.base_url}/api/v1/agents",
        json={"title": title, "dsl": canvas(dataset_id)},
        headers={"Authorization": f"Bearer {KEY}"},
        timeout=10,
    )
    response.raise_for_status()
    return next(a for a in client.iter_agents() if a.title == title)


def _dataset_with_docs(client: RAGFlow, parse: bool = False) -> tuple[Any, list[Any]]:
    dataset = client.create_dataset(name=unique("del"))
    docs = dataset.upload_documents([{"display_name": n, "blob": b} for n, b in FACTS.items()])
    if parse:
        dataset.parse_documents([d.id for d in docs], timeout=20, poll_interval=0.02)
    return dataset, docs


def build_scene(resource: str, srv: LocalRAGFlowServer, admin: RAGFlow, client: RAGFlow) -> Scene:
    """Create victims and bystanders with ``admin``; ``client`` (recorded) does the delete."""
    if resource == "datasets":
        victim = admin.create_dataset(name=unique("victim")).id
        admin.create_dataset(name=unique("sibling"))
        keeper_chat = admin.create_chat(name=unique("keeper-chat")).id
        return Scene(
            client.delete_datasets,
            [victim],
            {d.id for d in admin.iter_datasets()} - {victim},
            {keeper_chat},
            lambda: {d.id for d in admin.iter_datasets()} | {c.id for c in admin.iter_chats()},
        )
    if resource == "documents":
        target, docs = _dataset_with_docs(admin)
        _, other_docs = _dataset_with_docs(admin)
        other = {d.id for d in other_docs}

        def alive_docs() -> set[str]:
            found = {d.id for d in admin.get_dataset(target.id).iter_documents()}
            return found | {
                d.id for d in admin.get_dataset(other_docs[0].dataset_id).iter_documents()
            }

        return Scene(
            client.get_dataset(target.id).delete_documents,
            [docs[0].id],
            {d.id for d in docs[1:]},
            other,
            alive_docs,
        )
    if resource == "chunks":
        target, docs = _dataset_with_docs(admin, parse=True)
        doc = docs[0]
        extra = doc.add_chunk("An extra chunk added by hand.")
        mine = [c.id for c in doc.list_chunks()]
        others = {c.id for d in docs[1:] for c in d.list_chunks()}
        recorded_doc = next(
            d for d in client.get_dataset(target.id).list_documents() if d.id == doc.id
        )

        def alive_chunks() -> set[str]:
            fresh = admin.get_dataset(target.id).list_documents()
            return {c.id for d in fresh for c in d.list_chunks()}

        return Scene(
            recorded_doc.delete_chunks,
            [extra.id],
            set(mine) - {extra.id},
            others,
            alive_chunks,
            id_key="chunk_ids",
        )
    if resource == "chats":
        victim = admin.create_chat(name=unique("victim-chat")).id
        admin.create_chat(name=unique("sibling-chat"))
        keeper_dataset = admin.create_dataset(name=unique("keeper")).id
        return Scene(
            client.delete_chats,
            [victim],
            {c.id for c in admin.iter_chats()} - {victim},
            {keeper_dataset},
            lambda: {c.id for c in admin.iter_chats()} | {d.id for d in admin.iter_datasets()},
        )
    if resource == "sessions":
        chat, other_chat = (admin.create_chat(name=unique("chat")) for _ in range(2))
        mine = [chat.create_session(name=unique("s")).id for _ in range(2)]
        theirs = {other_chat.create_session(name=unique("s")).id}
        return Scene(
            client.get_chat(chat.id).delete_sessions,
            mine[:1],
            set(mine[1:]),
            theirs,
            lambda: {
                s.id for c in (chat, other_chat) for s in admin.get_chat(c.id).iter_sessions()
            },
        )
    if resource == "agent sessions":
        dataset = admin.create_dataset(name=unique("agent-kb"))
        agent, other_agent = (_make_agent(srv, admin, dataset.id) for _ in range(2))
        mine = [agent.create_session().id for _ in range(2)]
        theirs = {other_agent.create_session().id}
        return Scene(
            client.get_agent(agent.id).delete_sessions,
            mine[:1],
            set(mine[1:]),
            theirs,
            lambda: {
                s.id for a in (agent, other_agent) for s in admin.get_agent(a.id).iter_sessions()
            },
        )
    raise ValueError(resource)


RESOURCES = ["datasets", "documents", "chunks", "chats", "sessions", "agent sessions"]


def _bad_bodies(sent: list[WireRequest], id_key: str, emulate: str) -> list[str]:
    problems = []
    for request in sent:
        body = request.json()
        if not isinstance(body, dict):
            problems.append(f"{request.path}: body {body!r}")
            continue
        if any(value is None for value in body.values()):
            problems.append(f"{request.path}: null in {body!r}")
        ids = body.get(id_key)
        if body.get("delete_all") is True and emulate == "0.27":
            continue
        if not (isinstance(ids, list) and ids and all(isinstance(i, str) and i for i in ids)):
            problems.append(f"{request.path}: no non-empty {id_key} list in {body!r}")
    return problems


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("resource", RESOURCES)
@pytest.mark.parametrize("emulate", MODES)
def test_delete_never_sends_null_ids_and_spares_other_data(
    servers: dict[str, LocalRAGFlowServer],
    make_client: Callable[..., RAGFlow],
    wire: WireLog,
    ledger: Callable[..., None],
    emulate: str,
    resource: str,
    variant: str,
) -> None:
    srv = servers[emulate]
    admin = make_client(srv, record=False)
    client = make_client(srv)
    scene = build_scene(resource, srv, admin, client)
    before = scene.alive()
    assert set(scene.victims) <= before
    assert scene.siblings <= before and scene.outsiders <= before
    mark = len(wire)
    started = time.monotonic()
    outcome = "returned None"
    if variant == "ids":
        scene.delete(scene.victims)
        expected_gone = set(scene.victims)
    elif variant == "empty":
        scene.delete([])
        expected_gone = set()
    elif variant == "none":
        with pytest.raises(ValueError) as caught:
            scene.delete(None)
        assert "delete_all=True" in str(caught.value) and "ids=[" in str(caught.value)
        outcome = describe_error(caught.value)
        expected_gone = set()
    else:
        scene.delete(delete_all=True)
        expected_gone = set(scene.victims) | scene.siblings
    elapsed = time.monotonic() - started
    deletes = [r for r in wire[mark:] if r.method == "DELETE"]
    problems = _bad_bodies(deletes, scene.id_key, emulate)
    assert not problems, problems
    if variant in ("empty", "none"):
        assert deletes == [], "nothing may be sent"
    else:
        assert deletes, "a delete request was expected"
    after = scene.alive()
    assert after == before - expected_gone, (before - after, expected_gone)
    survivors = after & (scene.siblings | scene.outsiders)
    assert scene.outsiders <= survivors
    bodies = sorted({str(r.json()) for r in deletes})[:2]
    ledger(
        area="deletes",
        fault=f"{resource}: delete({variant}) on a {emulate} server",
        injected=0,
        requests_sent=len(deletes),
        caller_saw=outcome + (f"; bodies: {', '.join(bodies)}" if bodies else "; nothing sent"),
        data_check=f"{len(before) - len(after)} deleted as asked; {len(survivors)} others "
        f"(incl. {len(scene.outsiders)} outside the target) survived",
        seconds=elapsed,
    )


@pytest.mark.parametrize("body", [{"ids": None}, {}], ids=["ids-null", "no-ids"])
def test_the_hazard_is_real_on_the_old_server(
    servers: dict[str, LocalRAGFlowServer],
    make_client: Callable[..., RAGFlow],
    body: dict[str, Any],
) -> None:
    """Proof that the checks above have teeth: a raw ``ids: null`` wipes a 0.22 dataset."""
    srv = servers["0.22"]
    admin = make_client(srv, record=False)
    dataset, docs = _dataset_with_docs(admin)
    assert len(list(admin.get_dataset(dataset.id).iter_documents())) == len(docs)
    response = requests.delete(
        f"{srv.base_url}/api/v1/datasets/{dataset.id}/documents",
        json=body,
        headers={"Authorization": f"Bearer {KEY}"},
        timeout=10,
    )
    assert response.json()["code"] == 0
    assert list(admin.get_dataset(dataset.id).iter_documents()) == []
