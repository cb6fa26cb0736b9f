"""Checked option values: argparse reports a bad one as a usage error naming the rule."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TypeVar

__all__ = ["count", "fraction", "seconds"]

T = TypeVar("T", int, float)


def _checked(convert: Callable[[str], T], ok: Callable[[T], bool], rule: str) -> Callable[[str], T]:
    def parse(text: str) -> T:
        try:
            value = convert(text)
        except ValueError:
            value = None
        if value is None or not ok(value):
            raise argparse.ArgumentTypeError(f"{rule}, not {text!r}")
        return value

    return parse


seconds = _checked(float, lambda value: value > 0, "must be a positive number of seconds")
count = _checked(int, lambda value: value >= 1, "must be 1 or more")
fraction = _checked(float, lambda value: 0.0 <= value <= 1.0, "must be between 0 and 1")
