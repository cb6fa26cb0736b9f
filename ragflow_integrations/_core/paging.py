"""Page arithmetic: map a 1-based ``offset``/``limit`` window onto server pages of at most 100."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

MAX_PAGE_SIZE = 100
T = TypeVar("T")


def as_int(value: Any, name: str) -> int:
    """``value`` if it is an int (not a bool), else a TypeError naming the argument."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int (got {type(value).__name__} {value!r:.40})")
    return value


def normalize_offset(offset: int | None) -> int:
    """The seed's ``offset`` is the 1-based position of the first item; 0 (or less) means 1."""
    if offset is None:
        return 1
    return max(1, as_int(offset, "offset"))


def choose_page_size(start: int, limit: int | None, max_page_size: int = MAX_PAGE_SIZE) -> int:
    """The smallest page size that serves the window from one page, else ``max_page_size``."""
    if limit is None or limit >= max_page_size:
        return max_page_size
    end = start + limit - 1
    for size in range(max(limit, 1), max_page_size + 1):
        if (start - 1) // size == (end - 1) // size:
            return size
    return max_page_size


@dataclass
class PageWalker:
    """Walks server pages for the window ``[offset, offset + limit)`` (``limit=None``: to the end).

    Usage: ``while (req := walker.next_request()) is not None: items = fetch(*req);
    yield from walker.accept(items, total)``.
    """

    offset: int = 1
    limit: int | None = None
    page_size: int = 0
    _page: int = field(init=False, default=0)
    _skip: int = field(init=False, default=0)
    _yielded: int = field(init=False, default=0)
    _done: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        self.offset = normalize_offset(self.offset)
        if self.limit is not None and as_int(self.limit, "limit") < 0:
            raise ValueError(f"limit must be >= 0 (got {self.limit})")
        if self.page_size <= 0:
            self.page_size = choose_page_size(self.offset, self.limit)
        if self.page_size > MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be <= {MAX_PAGE_SIZE} on the wire")
        self._page = (self.offset - 1) // self.page_size + 1
        self._skip = (self.offset - 1) % self.page_size
        if self.limit == 0:
            self._done = True

    @property
    def done(self) -> bool:
        return self._done

    def next_request(self) -> tuple[int, int] | None:
        """``(page, page_size)`` to fetch next, or ``None`` when the window is complete."""
        return None if self._done else (self._page, self.page_size)

    def accept(self, items: Sequence[T], total: int | None = None) -> list[T]:
        """Items of the fetched page that belong to the window; advances to the next page."""
        if self._done:
            return []
        selected = list(items[self._skip :])
        if self.limit is not None:
            selected = selected[: self.limit - self._yielded]
        self._yielded += len(selected)
        covered = self._page * self.page_size
        short = len(items) < self.page_size
        full = self.limit is not None and self._yielded >= self.limit
        beyond_total = total is not None and covered >= total
        self._done = short or full or beyond_total
        self._page += 1
        self._skip = 0
        return selected


def page_window(page: int, page_size: int) -> tuple[int, int]:
    """``(offset, limit)`` for the seed's ``page``/``page_size`` pair (pages start at 1)."""
    page = max(1, as_int(page, "page"))
    if as_int(page_size, "page_size") < 1:
        raise ValueError(f"page_size must be >= 1 (got {page_size})")
    return (page - 1) * page_size + 1, page_size
