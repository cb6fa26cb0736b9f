"""A deterministic extractive responder: the local server's stand-in for an LLM.

It picks the sentences of the retrieved chunks that share the most words with the question and
cites each with ``[ID:n]`` (n = index into the reference chunks). It never invents text.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Iterator, Sequence

from .store import STOPWORDS, query_terms

NO_DATASET_ANSWER = (
    "This is the ragflow_integrations local stand-in server, which has no language model: it can "
    "only answer by quoting documents retrieved from the chat's datasets, and this chat has none."
)
NO_CONTENT_ANSWER = (
    "The local stand-in server found no relevant content in the knowledge base for this question."
)
_SENTENCE = re.compile(r"(?<=[.!?。！？])\s+|\n+")
_WORD = re.compile(r"\w+", re.UNICODE)


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def _stems(text: str) -> set[str]:
    return {_stem(w) for w in _WORD.findall(text.lower()) if w not in STOPWORDS}


def compose_answer(
    question: str, chunk_texts: Sequence[str], *, quote: bool = True, max_sentences: int = 3
) -> str:
    """The best-matching sentences of the chunks (best chunk first), each cited ``[ID:n]``."""
    wanted = _stems(question)
    scored: list[tuple[float, int, int, str]] = []
    for n, text in enumerate(chunk_texts):
        for position, raw in enumerate(_SENTENCE.split(text)):
            sentence = raw.strip().lstrip("#").strip()  # markdown heading markers
            if len(sentence.split()) < 2:
                continue
            overlap = len(wanted & _stems(sentence))
            rank_bonus = 1.0 / (n + 2)
            scored.append((overlap + rank_bonus, n, position, sentence))
    if not scored:
        first = chunk_texts[0].strip() if chunk_texts else ""
        return f"{first} [ID:0]" if quote and first else first
    scored.sort(key=lambda item: (-item[0], item[1], item[2]))
    picked = sorted(scored[:max_sentences], key=lambda item: (item[1], item[2]))
    parts = [f"{s} [ID:{n}]" if quote else s for _, n, _, s in picked]
    return " ".join(parts)


def pieces(text: str, words_per_piece: int = 3) -> Iterator[str]:
    """Split an answer into small word groups (keeping the whitespace) for streaming."""
    tokens = re.findall(r"\S+\s*", text)
    for i in range(0, len(tokens), words_per_piece):
        yield "".join(tokens[i : i + words_per_piece])


def count_tokens(text: str) -> int:
    """Approximate token count (words and punctuation marks)."""
    return len(re.findall(r"\w+|[^\w\s]", text))


def related_phrases(question: str, texts: Sequence[str], limit: int = 5) -> list[str]:
    """Deterministic related search phrases: frequent word pairs of the retrieved text."""
    asked = set(query_terms(question))
    pairs: Counter[str] = Counter()
    singles: Counter[str] = Counter()
    for text in texts:
        words = [w for w in _WORD.findall(text.lower()) if not w.isdigit()]
        for a, b in itertools.pairwise(words):
            if a in STOPWORDS or b in STOPWORDS or len(a) < 3 or len(b) < 3:
                continue
            if {a, b} <= asked:
                continue
            pairs[f"{a} {b}"] += 1
        for w in words:
            if w not in STOPWORDS and len(w) > 3 and w not in asked:
                singles[w] += 1
    ranked = [p for p, _ in sorted(pairs.items(), key=lambda kv: (-kv[1], kv[0]))]
    ranked += [w for w, _ in sorted(singles.items(), key=lambda kv: (-kv[1], kv[0]))]
    topic = " ".join(query_terms(question)[:3])
    phrases: list[str] = []
    for candidate in ranked:
        phrase = f"{topic} {candidate}".strip() if topic else candidate
        if phrase not in phrases:
            phrases.append(phrase)
        if len(phrases) >= limit:
            break
    return phrases
