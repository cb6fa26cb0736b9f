"""Sans-I/O core: request specs, envelopes, retries, SSE, paging, server features."""
