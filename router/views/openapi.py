"""OpenAPI 3.1 document assembled from the path items each view module registers, and a docs page."""

from __future__ import annotations

import html
import json
from typing import Any

from aiohttp import web

from router.appkeys import OPENAPI_PATHS
from router.views.models import component_schemas

__all__ = ["setup_routes", "build_spec"]

def components() -> dict[str, Any]:
    """The bearer scheme, and the schemas of the request and response models (router.views.models)."""
    return {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                       "description": "ROUTER_API_TOKEN (make run prints it)"}},
        "schemas": component_schemas(),
    }


def build_spec(app: web.Application) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "社区民生服务助手 router API", "version": "1",
                 "description": "Triage, tickets, service catalogue, 属地 resolution and channels."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": dict(sorted(app[OPENAPI_PATHS].items())),
        "components": components(),
    }


async def openapi_json(request: web.Request) -> web.Response:
    return web.json_response(build_spec(request.app), dumps=lambda o: json.dumps(o, ensure_ascii=False))


async def docs_page(request: web.Request) -> web.Response:
    spec = build_spec(request.app)
    rows = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            rows.append(f"<tr><td><code>{method.upper()}</code></td><td><code>{html.escape(path)}</code></td>"
                        f"<td>{html.escape(op.get('summary', ''))}</td></tr>")
    body = ("<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'><title>API 文档</title>"
            "<style>body{font-family:sans-serif;margin:2em}td{padding:.3em .8em;border-bottom:1px solid #ddd}"
            "</style></head><body><h1>社区民生服务助手 API</h1>"
            "<p>Machine-readable: <a href='/api/v1/openapi.json'>/api/v1/openapi.json</a>. Internal endpoints need "
            "<code>Authorization: Bearer $ROUTER_API_TOKEN</code>.</p><table>" + "".join(rows) + "</table></body></html>")
    return web.Response(text=body, content_type="text/html")


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/api/v1/openapi.json", openapi_json)
    app.router.add_get("/api/v1/docs", docs_page)
    app[OPENAPI_PATHS].update({
        "/api/v1/openapi.json": {"get": {"summary": "This document (OpenAPI 3.1)", "security": [],
                                         "responses": {"200": {"description": "the OpenAPI document",
                                                               "content": {"application/json": {}}}}}},
        "/api/v1/docs": {"get": {"summary": "The routes of this document as an HTML page", "security": [],
                                 "responses": {"200": {"description": "HTML",
                                                       "content": {"text/html": {"schema": {"type": "string"}}}}}}},
    })
