"""Per-id mutual exclusion for upserts, shared by threads and event loops of one process.

Replacing a document is "find its copies, upload the new one, delete the old ones". Two writes of
one id at the same time would each keep their own upload (and could delete the other's while it is
still parsing), so the adapters run that sequence under :data:`WRITE_LOCKS` for each id written.
One lock serves sync callers (threads wait on an event) and async callers (tasks await a future
of their own loop, never blocking it) alike, so a sync ``add_documents`` in a thread and an
``aadd_documents`` on a loop exclude each other too. Locks are not re-entrant.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from collections.abc import AsyncIterator, Hashable, Iterable, Iterator
from dataclasses import dataclass, field

__all__ = ["WRITE_LOCKS", "IdLocks"]


@dataclass(eq=False)
class _Waiter:
    loop: asyncio.AbstractEventLoop | None = None
    future: asyncio.Future[None] | None = None
    event: threading.Event = field(default_factory=threading.Event)
    granted: bool = False

    def wake(self) -> bool:
        """Hand the lock over; False when the waiter's loop is closed (nobody to wake)."""
        if self.loop is None:
            self.event.set()
            return True
        try:
            self.loop.call_soon_threadsafe(self._resolve)
        except RuntimeError:  # the loop is closed
            return False
        return True

    def _resolve(self) -> None:
        if self.future is not None and not self.future.done():
            self.future.set_result(None)


@dataclass(eq=False)
class _Slot:
    owner_loop: asyncio.AbstractEventLoop | None
    """The loop of an async owner (a sync wait on that loop's thread would never end)."""
    waiters: deque[_Waiter] = field(default_factory=deque)


class IdLocks:
    """First-come-first-served locks, one per key, created on demand and dropped when free."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._slots: dict[Hashable, _Slot] = {}

    @contextlib.contextmanager
    def hold(self, keys: Iterable[Hashable]) -> Iterator[None]:
        """Hold the locks of ``keys`` (taken in sorted order, so that callers cannot deadlock)."""
        taken: list[Hashable] = []
        try:
            for key in _ordered(keys):
                self._acquire(key)
                taken.append(key)
            yield
        finally:
            for key in reversed(taken):
                self._release(key)

    @contextlib.asynccontextmanager
    async def ahold(self, keys: Iterable[Hashable]) -> AsyncIterator[None]:
        """Async twin of :meth:`hold`: waits without blocking the event loop."""
        taken: list[Hashable] = []
        try:
            for key in _ordered(keys):
                await self._aacquire(key)
                taken.append(key)
            yield
        finally:
            for key in reversed(taken):
                self._release(key)

    def held(self, key: Hashable) -> bool:
        """Whether someone holds ``key`` (for tests and diagnostics)."""
        with self._mutex:
            return key in self._slots

    # ----- internals ------------------------------------------------------------------------------
    def _acquire(self, key: Hashable) -> None:
        running = _running_loop()
        with self._mutex:
            slot = self._slots.get(key)
            if slot is None:
                self._slots[key] = _Slot(owner_loop=None)
                return
            if running is not None and slot.owner_loop is running:
                raise RuntimeError(
                    f"a sync write of {key!r} would wait forever for an async write of the same "
                    "id on this thread's running event loop: use the async method (aadd_documents, "
                    "ainsert, ...) inside the loop"
                )
            waiter = _Waiter()
            slot.waiters.append(waiter)
        try:
            waiter.event.wait()
        except BaseException:
            self._give_up(key, slot, waiter)
            raise

    async def _aacquire(self, key: Hashable) -> None:
        loop = asyncio.get_running_loop()
        with self._mutex:
            slot = self._slots.get(key)
            if slot is None:
                self._slots[key] = _Slot(owner_loop=loop)
                return
            waiter = _Waiter(loop=loop, future=loop.create_future())
            slot.waiters.append(waiter)
        try:
            assert waiter.future is not None
            await waiter.future
        except BaseException:  # cancelled while waiting: leave the queue (or pass the lock on)
            self._give_up(key, slot, waiter)
            raise

    def _give_up(self, key: Hashable, slot: _Slot, waiter: _Waiter) -> None:
        with self._mutex:
            if waiter.granted:  # handed over just as the wait ended: pass it on
                self._hand_over(key, slot)
            elif waiter in slot.waiters:
                slot.waiters.remove(waiter)

    def _release(self, key: Hashable) -> None:
        with self._mutex:
            self._hand_over(key, self._slots[key])

    def _hand_over(self, key: Hashable, slot: _Slot) -> None:
        """Give the lock to the first waiter that can still take it, or free it (mutex held)."""
        while slot.waiters:
            waiter = slot.waiters.popleft()
            if waiter.wake():  # the waiter checks ``granted`` only under the mutex we hold
                waiter.granted = True
                slot.owner_loop = waiter.loop
                return
        del self._slots[key]


def _ordered(keys: Iterable[Hashable]) -> list[Hashable]:
    unique = list(dict.fromkeys(keys))
    try:
        return sorted(unique)  # type: ignore[type-var]
    except TypeError:
        return sorted(unique, key=repr)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


WRITE_LOCKS = IdLocks()
"""The process-wide locks the adapters take around each upsert and delete of one id."""
