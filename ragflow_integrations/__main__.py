"""``python -m ragflow_integrations``: the command line (see :mod:`ragflow_integrations.cli`)."""

from ragflow_integrations.cli import main

raise SystemExit(main())
