"""Embedders: the protocol and the default deterministic hashing embedder."""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

Matrix = npt.NDArray[np.float32]

STOPWORDS = frozenset(
    """a an and are as at be but by can could did do does for from had has have how i if in into
    is it its me my no not of on or our so such than that the their them then there these they
    this to was we were what when where which who whom why will with would you your about tell
    please give show explain describe""".split()  # noqa: SIM905
)
_WORD = re.compile(r"\w+", re.UNICODE)


@runtime_checkable
class Embedder(Protocol):
    """Anything with ``embed(texts) -> array of shape (len(texts), dim)``."""

    def embed(self, texts: Sequence[str]) -> Matrix: ...


def normalise_rows(matrix: Matrix) -> Matrix:
    """L2-normalise each row (zero rows stay zero)."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    normalised: Matrix = (matrix / norms).astype(np.float32, copy=False)
    return normalised


class HashingEmbedder:
    """Deterministic signed hashing of words and character trigrams, L2-normalised.

    Stop words are skipped; each feature lands in one of ``dim`` buckets with a sign taken from
    another bit of its hash, so unrelated texts score near 0 and texts sharing words or word
    pieces score higher. Not a semantic model, but enough to rank a test corpus and exercise
    the hybrid score. No dependency beyond numpy.
    """

    name = "local-hashing-embedder@Builtin"

    def __init__(self, dim: int = 384, trigram_weight: float = 0.4) -> None:
        self.dim = dim
        self.trigram_weight = trigram_weight

    def _features(self, text: str) -> dict[str, float]:
        counts: dict[str, float] = {}
        for word in _WORD.findall(text.lower()):
            if word in STOPWORDS:
                continue
            counts[word] = counts.get(word, 0.0) + 1.0
            padded = f"#{word}#"
            for i in range(len(padded) - 2):
                key = "\x00" + padded[i : i + 3]
                counts[key] = counts.get(key, 0.0) + self.trigram_weight
        return counts

    def embed(self, texts: Sequence[str]) -> Matrix:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for feature, count in self._features(text).items():
                code = zlib.crc32(feature.encode("utf-8"))
                sign = 1.0 if (code >> 16) & 1 else -1.0
                weight = 1.0 + math.log(count) if count >= 1.0 else count
                out[row, code % self.dim] += sign * weight
        return normalise_rows(out)
