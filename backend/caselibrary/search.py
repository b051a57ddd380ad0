"""Full-text search of the accepted cases.

Chinese has no spaces, and neither PostgreSQL nor SQLite ships a Chinese parser; a case's
public text is indexed as overlapping character bigrams (“社区矫正” → 社区 区矫 矫正), a
simple and honest tokenisation: a query matches when all its bigrams occur, which finds
every occurrence of the words asked for (and, rarely, text where the bigrams occur apart).
On PostgreSQL the bigrams go through ``to_tsvector('simple', …)`` with a GIN index
(migration 0002); elsewhere a ``LIKE`` per bigram (correct, not indexed). Pure Python."""

from __future__ import annotations

import re

_CJK_RUN = re.compile(r"[\u3400-\u9fff]+")
_WORD = re.compile(r"[A-Za-z0-9]+")
MAX_QUERY_TOKENS = 32


def bigrams(text: str) -> list[str]:
    tokens: list[str] = []
    for run in _CJK_RUN.findall(text):
        if len(run) == 1:
            tokens.append(run)
        tokens.extend(run[i : i + 2] for i in range(len(run) - 1))
    tokens.extend(word.lower() for word in _WORD.findall(text))
    return tokens


def index_text(text: str) -> str:
    """What the index stores: the distinct tokens, space-separated."""
    return " ".join(dict.fromkeys(bigrams(text)))


def query_tokens(query: str) -> list[str]:
    """The tokens all of which a match must contain (a single character: a prefix)."""
    return list(dict.fromkeys(bigrams(query)))[:MAX_QUERY_TOKENS]


def tsquery(tokens: list[str]) -> str:
    """A to_tsquery('simple', …) text: every token, single characters as prefixes; tokens
    hold only CJK characters, letters and digits, so nothing needs quoting."""
    return " & ".join(f"{t}:*" if len(t) == 1 else t for t in tokens)
