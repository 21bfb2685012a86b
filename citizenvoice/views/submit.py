"""The resident's submission form and tracking pages (built by the submission issue)."""

from __future__ import annotations

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
