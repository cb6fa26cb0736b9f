"""Embedders: the protocol and the default deterministic hashing embedder."""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

Matrix = npt.NDArray[np.float32]

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
    """Deterministic bag of hashed words and character trigrams, L2-normalised.

    Not a semantic model: texts that share words or word pieces get similar vectors, which is
    enough to rank a small test corpus and to exercise the hybrid score. No dependency beyond numpy.
    """

    name = "local-hashing-embedder@Builtin"

    def __init__(self, dim: int = 256, trigram_weight: float = 0.5) -> None:
        self.dim = dim
        self.trigram_weight = trigram_weight

    def _features(self, text: str) -> dict[int, float]:
        counts: dict[int, float] = {}
        dim = self.dim
        for word in _WORD.findall(text.lower()):
            key = zlib.crc32(word.encode("utf-8")) % dim
            counts[key] = counts.get(key, 0.0) + 1.0
            padded = f"#{word}#"
            for i in range(len(padded) - 2):
                tri = zlib.crc32(padded[i : i + 3].encode("utf-8")) % dim
                counts[tri] = counts.get(tri, 0.0) + self.trigram_weight
        return counts

    def embed(self, texts: Sequence[str]) -> Matrix:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for key, count in self._features(text).items():
                out[row, key] = 1.0 + np.log(count) if count >= 1.0 else count
        return normalise_rows(out)
