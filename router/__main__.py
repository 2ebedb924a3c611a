"""``python -m router``: serve the router (channels, API, console) on ROUTER_HOST:ROUTER_PORT."""

from __future__ import annotations

import gc
import logging

from aiohttp import web

from router.app import create_app
from router.settings import Settings


async def settle_heap(_app: web.Application) -> None:
    """After startup (models, catalogue, gazetteers loaded): collect once and move every object alive to
    the permanent generation, so the cyclic GC's full collections no longer walk them — one took ~40 ms
    of the event loop with everything loaded (GC_FREEZE=0 leaves the heap as it is)."""
    gc.collect()
    gc.freeze()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env()
    if not settings.api_token:
        raise SystemExit("ROUTER_API_TOKEN is not set (make run generates one under var/)")
    app = create_app(settings)
    if settings.gc_freeze:
        app.on_startup.append(settle_heap)  # after every other startup step
    web.run_app(app, host=settings.router_host, port=settings.router_port,
                access_log=None, print=lambda *_: None, shutdown_timeout=5)


if __name__ == "__main__":
    main()
