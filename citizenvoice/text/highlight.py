"""Search terms marked in the original text: the normalisation search compares under, highlighting
and snippets. Which essays match is decided by the index (:mod:`citizenvoice.store.search`); this only
shows where."""

from __future__ import annotations

import html
import unicodedata
from collections.abc import Sequence
from functools import lru_cache

SNIPPET_CHARS = 110
SNIPPET_LEAD = 30  # characters of context kept before the first match


def normalize(text: str) -> str:
    """NFKC and Unicode casefolding: "ＡＩ" compares equal to "ai", 医 stays apart from 醫."""
    return unicodedata.normalize("NFKC", text).casefold()


@lru_cache(maxsize=65536)
def _normalize_char(ch: str) -> str:
    return normalize(ch)


def _normalized_with_owners(text: str) -> tuple[str, list[int] | None]:
    """The normalized text and, per normalized character, the index of the original character.

    ``None`` means the mapping is the identity (every character normalized to exactly one). Text is
    normalized piece by piece so positions can be mapped back; where that differs from normalizing
    the whole string (a combining accent that composes), highlighting may miss a match, but which
    essays match is decided by the index and stays exact.
    """
    pieces = [_normalize_char(ch) for ch in text]
    normed = "".join(pieces)
    if len(normed) == len(text):  # no character normalizes to "", so each gave exactly one
        return normed, None
    owners: list[int] = []
    for index, piece in enumerate(pieces):
        owners.extend([index] * len(piece))
    return normed, owners


def match_spans(text: str, terms: Sequence[str]) -> list[tuple[int, int]]:
    """Merged [start, end) spans of the original text covered by any occurrence of any term."""
    normed, owners = _normalized_with_owners(text)
    spans: list[tuple[int, int]] = []
    for term in terms:
        at = normed.find(term)
        while at != -1:
            end = at + len(term)
            spans.append((at, end) if owners is None else (owners[at], owners[end - 1] + 1))
            at = normed.find(term, at + 1)
    return _merge(sorted(spans))


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _render(text: str, spans: list[tuple[int, int]], start: int, end: int) -> str:
    out: list[str] = []
    pos = start
    for s, e in spans:
        s, e = max(s, start), min(e, end)
        if s >= e:
            continue
        out.append(html.escape(text[pos:s]))
        out.append("<mark>" + html.escape(text[s:e]) + "</mark>")
        pos = e
    out.append(html.escape(text[pos:end]))
    return "".join(out)


def highlight(text: str, terms: Sequence[str]) -> str:
    """The whole text, HTML-escaped, with every term occurrence in <mark>."""
    return _render(text, match_spans(text, terms), 0, len(text))


def snippet_window(body: str, terms: Sequence[str], width: int = SNIPPET_CHARS) -> tuple[int, int, list[tuple[int, int]]]:
    """Where the snippet of ``body`` starts and ends (around its first match, or its start), and the
    spans of every term occurrence in the whole body."""
    spans = match_spans(body, terms)
    first = spans[0][0] if spans else 0
    start = max(0, first - SNIPPET_LEAD)
    end = min(len(body), start + width)
    start = max(0, min(start, end - width))  # near the end, widen backwards to keep the width
    return start, end, spans


def snippet(body: str, terms: Sequence[str], width: int = SNIPPET_CHARS) -> str:
    """An escaped window of the body around its first match (or its start), with … at cut ends."""
    start, end, spans = snippet_window(body, terms, width)
    text = _render(body, spans, start, end)
    return ("…" if start > 0 else "") + text + ("…" if end < len(body) else "")


def snippet_spans(body: str, terms: Sequence[str], width: int = SNIPPET_CHARS) -> tuple[str, list[tuple[int, int]]]:
    """The snippet as plain text (… at cut ends) and its matches as [start, end) offsets into that text,
    for clients that highlight themselves (the JSON API)."""
    start, end, spans = snippet_window(body, terms, width)
    lead = "…" if start > 0 else ""
    shift = len(lead) - start
    inside = [(max(s, start) + shift, min(e, end) + shift) for s, e in spans if max(s, start) < min(e, end)]
    return lead + body[start:end] + ("…" if end < len(body) else ""), inside
