"""What the city reads: the home page and boards (extended by the public-boards issue), and /healthz."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from citizenvoice import db as database
from citizenvoice.directions import by_pillar
from citizenvoice.routing import PUBLIC, route
from citizenvoice.store import directions as direction_store
from citizenvoice.templating import render


async def home(request: Request) -> Response:
    async with request.app.state.db.read() as conn:
        directions = await direction_store.list_directions(conn)
    return render(request, "public/home.html", {"pillars": by_pillar(directions)})


async def healthz(request: Request) -> Response:
    db = request.app.state.db
    try:
        healthy = await db.is_healthy()
        pending = database.pending_migrations(db.path)
    except Exception:
        return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
    if not healthy or pending:
        return JSONResponse({"status": "error", "pending_migrations": pending}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok", "migrations": "current"})


routes = [
    route("/", home, access=PUBLIC),
    route("/healthz", healthz, access=PUBLIC),
]
