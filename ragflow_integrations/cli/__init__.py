"""The ``ragflow-integrations`` command line (also ``python -m ragflow_integrations``).

Commands: ``sync FOLDER --dataset NAME`` (incremental upload, parse, optional delete),
``search QUERY --dataset NAME``, ``ask QUESTION --chat NAME``, ``datasets`` and
``documents --dataset NAME``. Each is a module here; :func:`main` runs one and returns its exit
code (:class:`ExitCode`). Importing :mod:`ragflow_integrations` does not import this package.
"""

from .app import main
from .codes import ExitCode

__all__ = ["ExitCode", "main"]
