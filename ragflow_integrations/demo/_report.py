"""Plain-text output for the demo: numbered sections, notes and small fixed-width tables."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TextIO

_SPACES = re.compile(r"\s+")


def one_line(text: str, width: int) -> str:
    """``text`` on one line (whitespace collapsed), cut to ``width`` characters with an ellipsis."""
    flat = _SPACES.sub(" ", text).strip()
    return flat if len(flat) <= width else flat[: width - 1].rstrip() + "…"


class StreamWriter:
    """Writes streamed text as it arrives, wrapping at word boundaries."""

    def __init__(self, report: Report, indent: str) -> None:
        self.report = report
        self.indent = indent
        self.column = 0
        self.space = False

    def write(self, text: str) -> None:
        for piece in re.findall(r"\S+|\s+", text):
            if not piece.isspace():
                self._word(piece)
            elif "\n" in piece:
                self.newline()
            else:
                self.space = self.column > 0

    def newline(self) -> None:
        if self.column:
            self.report.write()
        self.column = 0
        self.space = False

    def _word(self, word: str) -> None:
        room = self.report.width - len(self.indent)
        if self.column and self.column + 1 + len(word) > room:
            self.newline()
        if not self.column:
            self.report.write(self.indent, end="")
        elif self.space:
            self.report.write(" ", end="")
            self.column += 1
        self.report.write(word, end="")
        self.column += len(word)
        self.space = False


class Report:
    """Writes the demo's output to ``out`` (flushed often, so streamed text shows as it comes)."""

    def __init__(self, out: TextIO, width: int = 96) -> None:
        self.out = out
        self.width = width
        self._section = 0

    def write(self, text: str = "", *, end: str = "\n") -> None:
        self.out.write(text + end)
        self.out.flush()

    def title(self, text: str) -> None:
        self.write(text)
        self.write("=" * len(text))

    def section(self, text: str) -> None:
        self._section += 1
        heading = f"{self._section}. {text}"
        self.write()
        self.write(heading)
        self.write("-" * len(heading))

    def field(self, name: str, value: str) -> None:
        self.write(f"{name + ':':<10} {value}".rstrip())

    def paragraph(self, text: str, *, indent: str = "") -> None:
        for line in textwrap.wrap(
            _SPACES.sub(" ", text).strip(),
            width=self.width,
            initial_indent=indent,
            subsequent_indent=indent,
        ):
            self.write(line)

    def note(self, text: str) -> None:
        self.paragraph(text, indent="  ! ")

    @contextmanager
    def stream(self, *, indent: str = "") -> Iterator[StreamWriter]:
        """A writer for text that arrives in pieces; ends the last line on exit."""
        writer = StreamWriter(self, indent)
        try:
            yield writer
        finally:
            writer.newline()

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
        """A fixed-width table; the last column gets the room left and is cut to fit it."""
        cells = [[one_line(str(value), 200) for value in row] for row in rows]
        widths = [len(header) for header in headers]
        for row in cells:
            for column, value in enumerate(row[:-1]):
                widths[column] = max(widths[column], len(value))
        fixed = sum(widths[:-1]) + 2 * (len(headers) - 1) + 2
        longest = max((len(row[-1]) for row in cells), default=0)
        widths[-1] = max(len(headers[-1]), min(longest, self.width - fixed))
        self._row(headers, widths)
        self._row(["-" * w for w in widths], widths)
        for row in cells:
            self._row([*row[:-1], one_line(row[-1], widths[-1])], widths)

    def _row(self, values: Sequence[str], widths: Sequence[int]) -> None:
        line = "  ".join(value.ljust(width) for value, width in zip(values, widths, strict=True))
        self.write(("  " + line).rstrip())
