"""The client by RAGFlow API group: one module (or small package) per group of routes.

Each group holds its sans-I/O operations (generators run by both drivers, see ``_core/ops.py``),
its pydantic objects (sync and async twins) and its client methods (a ``RAGFlow`` mixin and its
``AsyncRAGFlow`` twin side by side); ``client.py`` composes the mixins. See docs/architecture.md
for the map and for how to add an endpoint.
"""
