"""``python -m router``: serve the router (channels, API, console) on ROUTER_HOST:ROUTER_PORT."""

from __future__ import annotations

import logging

from aiohttp import web

from router.app import create_app
from router.settings import Settings


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env()
    if not settings.api_token:
        raise SystemExit("ROUTER_API_TOKEN is not set (make run generates one under var/)")
    web.run_app(create_app(settings), host=settings.router_host, port=settings.router_port,
                access_log=None, print=lambda *_: None, shutdown_timeout=5)


if __name__ == "__main__":
    main()
