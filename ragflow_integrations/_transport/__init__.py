"""HTTP transports: the only modules that perform I/O (sync: requests, async_: httpx)."""
