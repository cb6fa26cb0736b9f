"""RAGFlowLLM and RAGFlowReader survive pickle and deepcopy (clients rebuilt or shared)."""

from __future__ import annotations

import copy
import pickle

import pytest
from llama_index.core import Document

from ragflow_integrations import RAGFlow
from ragflow_integrations.llama_index import RAGFlowIndex, RAGFlowLLM, RAGFlowReader
from ragflow_integrations.testing import LocalRAGFlowServer


@pytest.mark.live
async def test_llm_and_reader_pickle_and_deepcopy_still_work() -> None:
    with LocalRAGFlowServer() as server:
        client = RAGFlow(api_key=server.api_key, base_url=server.base_url, max_retries=1)
        index = RAGFlowIndex.from_documents(
            [Document(id_="z", text="The Zephyr-9 turbine turns at 4200 rpm.")],
            dataset_name="li-copies",
            create_if_missing=True,
            client=client,
            poll_interval=0.05,
        )
        chat = client.create_chat(name="li-copies", dataset_ids=[index.dataset_id])
        llm = RAGFlowLLM(chat.id, client=client, temperature=0.1)
        reader = RAGFlowReader(index.dataset_id, client=client, mode="chunks")
        own = RAGFlowLLM(chat.id, api_key=server.api_key, base_url=server.base_url)

        answers = []
        for model in (pickle.loads(pickle.dumps(llm)), copy.deepcopy(llm)):
            assert model.chat_id == chat.id and model.temperature == 0.1
            answers.append(model.complete("How fast does the Zephyr-9 turn?").text)
            answers.append((await model.acomplete("How fast does the Zephyr-9 turn?")).text)
        unpickled_own = pickle.loads(pickle.dumps(own))
        answers.append(unpickled_own.complete("How fast does the Zephyr-9 turn?").text)
        texts = [
            [d.text for d in r.load_data()]
            for r in (pickle.loads(pickle.dumps(reader)), copy.deepcopy(reader))
        ]
        deep = copy.deepcopy(llm)
        unpickled = pickle.loads(pickle.dumps(llm))
        client.close()

    assert len(answers) == 5 and all("4200" in a for a in answers)
    assert texts == [["The Zephyr-9 turbine turns at 4200 rpm."]] * 2
    assert deep._clients.sync is client  # a deep copy shares the caller's client
    assert unpickled._clients.sync is not client  # an unpickled one builds its own
    assert unpickled._clients.sync.base_url == client.base_url
    assert unpickled._clients.sync.max_retries == 1
