"""The client by RAGFlow API group: one module (or small package) per group of routes.

Each group holds its sans-I/O operations (generators both drivers run, see ``_core/ops.py``),
its pydantic objects (sync and async twins) and its client methods (a ``RAGFlow`` mixin and its
``AsyncRAGFlow`` twin side by side); ``client.py`` composes the mixins.

* ``system.py``: ping, health, version
* ``llm_models.py``: the tenant's models and its defaults
* ``datasets.py``: datasets and their knowledge graph; ``dataset_indexes.py``: building their
  knowledge graph, RAPTOR tree and mind map
* ``documents/``: a dataset's documents (``documents.py``), their parsing (``parsing.py``) and
  their metadata in bulk (``metadata.py``)
* ``chunks.py``: a document's chunks
* ``retrieval.py``: ranked chunks across datasets
* ``chats/``: assistants (``chats.py``), sessions and conversation (``sessions.py``), answers
  and their deletion and feedback (``messages.py``), the OpenAI-compatible completion
  (``openai.py``)
* ``agents/``: agents (``agents.py``), their sessions and runs (``sessions.py``), their saved
  versions (``versions.py``)
* ``chats/``: assistants (``chats.py``), sessions and conversation (``sessions.py``), the
  OpenAI-compatible completion (``openai.py``)
* ``agents/``: agents (``agents.py``), their sessions and runs (``sessions.py``)
* ``memories/``: memories (``memories.py``) and their messages (``messages.py``), RAGFlow v0.24+

docs/architecture.md has the map and says how to add an endpoint.
"""
