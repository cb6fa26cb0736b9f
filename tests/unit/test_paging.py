"""Offset/limit windows mapped onto server pages of at most 100."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ragflow_integrations._core.paging import (
    MAX_PAGE_SIZE,
    PageWalker,
    choose_page_size,
    normalize_offset,
    page_window,
)


def run_walker(
    items: list[int], offset: int, limit: int | None, report_total: bool
) -> tuple[list[int], list[tuple[int, int]]]:
    walker = PageWalker(offset, limit)
    out: list[int] = []
    requests: list[tuple[int, int]] = []
    while (request := walker.next_request()) is not None:
        requests.append(request)
        page, size = request
        served = items[(page - 1) * size : page * size]
        out += walker.accept(served, len(items) if report_total else None)
        assert len(requests) < 10_000
    return out, requests


@given(
    total=st.integers(0, 450),
    offset=st.integers(-2, 500),
    limit=st.one_of(st.none(), st.integers(0, 400)),
    report_total=st.booleans(),
)
def test_walker_yields_exactly_the_window(
    total: int, offset: int, limit: int | None, report_total: bool
) -> None:
    items = list(range(1, total + 1))
    out, requests = run_walker(items, offset, limit, report_total)
    start = max(offset, 1) - 1
    expected = items[start:] if limit is None else items[start : start + limit]
    assert out == expected
    assert all(1 <= size <= MAX_PAGE_SIZE for _, size in requests)
    if limit == 0:
        assert requests == []


def test_small_window_is_one_request_of_the_right_size() -> None:
    out, requests = run_walker(list(range(1, 50)), 5, 12, report_total=False)
    assert out == list(range(5, 17))
    assert requests == [(1, 16)]


def test_large_limit_pages_in_hundreds_and_stops_on_a_short_page() -> None:
    out, requests = run_walker(list(range(1, 251)), 1, 1024, report_total=False)
    assert len(out) == 250
    assert requests == [(1, 100), (2, 100), (3, 100)]


def test_total_stops_without_an_extra_empty_request() -> None:
    _, requests = run_walker(list(range(1, 201)), 1, None, report_total=True)
    assert requests == [(1, 100), (2, 100)]
    _, requests = run_walker(list(range(1, 201)), 1, None, report_total=False)
    assert requests == [(1, 100), (2, 100), (3, 100)]


def test_offset_zero_means_first_item() -> None:
    assert normalize_offset(0) == 1
    assert normalize_offset(None) == 1
    assert normalize_offset(7) == 7


@pytest.mark.parametrize(
    ("page", "page_size", "window"), [(1, 1024, (1, 1024)), (3, 10, (21, 10)), (0, 5, (1, 5))]
)
def test_page_window(page: int, page_size: int, window: tuple[int, int]) -> None:
    assert page_window(page, page_size) == window


def test_page_window_rejects_non_positive_sizes() -> None:
    with pytest.raises(ValueError, match="page_size"):
        page_window(1, 0)


@given(start=st.integers(1, 1000), limit=st.integers(1, 99))
def test_chosen_page_size_covers_the_window_in_one_page_when_possible(
    start: int, limit: int
) -> None:
    size = choose_page_size(start, limit)
    assert limit <= size <= MAX_PAGE_SIZE
    if size < MAX_PAGE_SIZE:
        assert (start - 1) // size == (start + limit - 2) // size
