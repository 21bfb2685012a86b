"""The boards: the city's strategic directions, grouped under the four pillars."""

from __future__ import annotations

from dataclasses import dataclass

from citizenvoice.model.essays import PILLARS


@dataclass(frozen=True)
class Direction:
    id: int
    slug: str
    name: str
    description: str
    pillar: str
    position: int
    archived: bool

    @property
    def pillar_name(self) -> str:
        return PILLARS[self.pillar]


def by_pillar(directions: list[Direction]) -> list[tuple[str, str, list[Direction]]]:
    """(pillar key, pillar name, its directions in board order) for the four pillars, in canonical order."""
    return [
        (key, name, sorted((d for d in directions if d.pillar == key), key=lambda d: (d.position, d.id)))
        for key, name in PILLARS.items()
    ]


def open_for_submission(directions: list[Direction]) -> list[Direction]:
    return [d for d in directions if not d.archived]
