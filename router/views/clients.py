"""The outbound HTTP client session shared by views (one per app, closed on shutdown)."""

from __future__ import annotations

import aiohttp
from aiohttp import web

__all__ = ["HTTP"]

HTTP: web.AppKey[aiohttp.ClientSession] = web.AppKey("http_client")
