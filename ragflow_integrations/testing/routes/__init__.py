"""HTTP routes of the local server, one module per endpoint group."""
