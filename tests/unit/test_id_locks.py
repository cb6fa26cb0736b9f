"""The per-id write locks shared by both adapters: threads and tasks exclude each other per id,
cancelled waiters leave no lock behind, and a sync wait that could never end is refused."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from ragflow_integrations._id_locks import IdLocks


def test_threads_and_tasks_take_turns_per_id_and_other_ids_run_freely() -> None:
    locks = IdLocks()
    inside: list[str] = []
    overlaps: list[str] = []
    guard = threading.Lock()

    def enter(who: str) -> None:
        with guard:
            if inside:
                overlaps.append(f"{who} while {inside}")
            inside.append(who)

    def leave(who: str) -> None:
        with guard:
            inside.remove(who)

    def sync_writer(n: int) -> None:
        with locks.hold([("k", "d", "same")]):
            enter(f"thread-{n}")
            time.sleep(0.01)
            leave(f"thread-{n}")

    async def async_writer(n: int) -> None:
        async with locks.ahold([("k", "d", "same")]):
            enter(f"task-{n}")
            await asyncio.sleep(0.01)
            leave(f"task-{n}")

    async def main() -> None:
        threads = [threading.Thread(target=sync_writer, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        await asyncio.gather(*(async_writer(n) for n in range(4)))
        for thread in threads:
            await asyncio.to_thread(thread.join)

    asyncio.run(main())
    assert overlaps == []
    assert not locks.held(("k", "d", "same"))

    with locks.hold([("k", "d", "a")]), locks.hold([("k", "d", "b")]):  # independent ids
        assert locks.held(("k", "d", "a")) and locks.held(("k", "d", "b"))


def test_a_cancelled_waiter_leaves_no_lock_behind() -> None:
    locks = IdLocks()
    key = ("k", "d", "x")

    async def main() -> list[str]:
        order: list[str] = []

        async def holder() -> None:
            async with locks.ahold([key]):
                await asyncio.sleep(0.05)
                order.append("holder")

        async def waiter(name: str) -> None:
            async with locks.ahold([key]):
                order.append(name)

        first = asyncio.create_task(holder())
        await asyncio.sleep(0)
        doomed = asyncio.create_task(waiter("cancelled"))
        last = asyncio.create_task(waiter("last"))
        await asyncio.sleep(0.01)
        doomed.cancel()
        await asyncio.gather(first, last, return_exceptions=True)
        assert doomed.cancelled()
        return order

    assert asyncio.run(main()) == ["holder", "last"]
    assert not locks.held(key)


def test_a_sync_wait_on_the_loop_holding_the_id_is_refused() -> None:
    locks = IdLocks()
    key = ("k", "d", "x")

    async def main() -> None:
        async with locks.ahold([key]):
            with pytest.raises(RuntimeError, match="use the async method"), locks.hold([key]):
                pass

    asyncio.run(main())
    assert not locks.held(key)


def test_a_waiter_whose_loop_was_closed_does_not_keep_the_lock() -> None:
    locks = IdLocks()
    key = ("k", "d", "x")
    loop = asyncio.new_event_loop()

    async def queued() -> None:
        async with locks.ahold([key]):
            pass

    with locks.hold([key]):
        task = loop.create_task(queued())
        loop.run_until_complete(asyncio.sleep(0.01))  # the task now waits behind us
        assert not task.done()
        loop.close()  # abandoned with the task still waiting
    with locks.hold([key]):  # free again: not handed to the dead loop's waiter
        pass
    assert not locks.held(key)
