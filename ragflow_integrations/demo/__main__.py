"""``python -m ragflow_integrations.demo``: see :mod:`ragflow_integrations.demo.tour`."""

from ragflow_integrations.demo.tour import main

raise SystemExit(main())
