"""An essay as the public sees it, and its place in board order."""

from __future__ import annotations

import re
from dataclasses import dataclass

from citizenvoice.model.essays import BylineParts, byline

EXCERPT_CHARS = 90


@dataclass(frozen=True)
class PublicEssay:
    """A published (or printed) essay as readers see it. ``body`` is an excerpt in lists."""

    id: int
    status: str
    direction_id: int
    headline: str
    body: str
    byline_parts: BylineParts
    featured: bool
    published_at: str
    updated_at: str
    printed_edition: str | None
    has_photo: bool
    photo_path: str | None = None

    def byline(self, city: str) -> str:
        return byline(self.byline_parts, city)

    @property
    def excerpt(self) -> str:
        # Lists select EXCERPT_CHARS + 1 characters: one more than shown says the text goes on.
        text = " ".join(self.body.split())[:EXCERPT_CHARS]
        return text + "…" if len(self.body) > EXCERPT_CHARS else text

    @property
    def key(self) -> BoardKey:
        return BoardKey(int(self.featured), self.published_at, self.id)


@dataclass(frozen=True)
class BoardKey:
    """An essay's place in board order; a page cursor, so pages stay put while essays arrive."""

    featured: int
    published_at: str
    id: int

    _PATTERN = re.compile(r"([01])~(\d{1,18})~(\d{4}-\d\d-\d\dT[0-9:.]{8,20}Z)")

    def token(self) -> str:
        return f"{self.featured}~{self.id}~{self.published_at}"

    @classmethod
    def parse(cls, raw: str | None) -> BoardKey | None:
        match = cls._PATTERN.fullmatch(raw or "")
        if not match:
            return None
        return cls(int(match[1]), match[3], int(match[2]))
