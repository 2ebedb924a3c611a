"""HTTP plumbing shared by every view: JSON errors, bearer auth for internal APIs, safe body reading."""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from router.appkeys import SETTINGS

__all__ = [
    "ApiError",
    "json_error",
    "error_middleware",
    "auth_middleware",
    "read_json",
    "read_limited",
    "require_text",
    "PUBLIC_PREFIXES",
]

log = logging.getLogger(__name__)

# Paths that do not take the internal bearer token: each has its own verification (WeChat signature,
# web session id, voice basic auth, console login) or is public by nature (health, docs, pages).
PUBLIC_PREFIXES = (
    "/healthz",
    "/api/v1/openapi.json",
    "/api/v1/docs",
    "/api/v1/channels/web/",
    "/channels/",
    "/console",
    "/static/",
    "/favicon.ico",
)


class ApiError(Exception):
    """An error the client can act on, rendered as ``{"error": {"code", "message"}}``."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


def json_error(status: int, code: str, message: str, **extra: Any) -> web.Response:
    body = {"error": {"code": code, "message": message, **extra}}
    return web.json_response(body, status=status, dumps=lambda o: json.dumps(o, ensure_ascii=False))


def _wants_json(request: web.Request) -> bool:
    return request.path.startswith("/api/") or request.path.startswith("/healthz")


@web.middleware
async def error_middleware(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                           ) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return json_error(exc.status, exc.code, exc.message, **exc.extra)
    except web.HTTPException as exc:
        if not _wants_json(request) or exc.status < 400:
            raise
        code = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}.get(exc.status, "http_error")
        return json_error(exc.status, code, exc.reason)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        if not _wants_json(request):
            raise
        return json_error(500, "internal_error", "内部错误，请稍后再试 (internal error)")


@web.middleware
async def auth_middleware(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                          ) -> web.StreamResponse:
    path = request.path
    if path == "/" or path.startswith(PUBLIC_PREFIXES) or not path.startswith("/api/"):
        return await handler(request)
    if not bearer_ok(request):
        return json_error(401, "unauthorized", "missing or wrong bearer token",
                          hint="Authorization: Bearer $ROUTER_API_TOKEN")
    return await handler(request)


def bearer_ok(request: web.Request) -> bool:
    token = request.app[SETTINGS].api_token
    header = request.headers.get("Authorization", "")
    if not token or not header.startswith("Bearer "):
        return False
    return hmac.compare_digest(header[7:].strip().encode(), token.encode())


async def read_json(request: web.Request, *, max_bytes: int = 64 * 1024) -> dict[str, Any]:
    """The request body as a JSON object, or a 4xx ApiError that says what was wrong with it."""
    raw = await read_limited(request, max_bytes)
    if not raw.strip():
        raise ApiError(400, "empty_body", "expected a JSON object")
    charset = (request.charset or "utf-8").lower()
    try:
        decoded = raw.decode(charset)
    except (UnicodeDecodeError, LookupError):
        raise ApiError(400, "bad_encoding", f"body is not valid {charset}; send UTF-8 JSON") from None
    try:
        data = json.loads(decoded)
    except json.JSONDecodeError as exc:
        raise ApiError(400, "invalid_json", f"broken JSON: {exc.msg} at position {exc.pos}") from None
    except RecursionError:
        raise ApiError(400, "invalid_json", "JSON nested too deeply") from None
    except ValueError as exc:  # e.g. an integer with more digits than Python converts
        raise ApiError(400, "invalid_json", f"JSON value not accepted: {exc}"[:200]) from None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", "expected a JSON object")
    return data


async def read_limited(request: web.Request, max_bytes: int) -> bytes:
    """The whole body (it may arrive in chunks), refusing more than ``max_bytes`` without buffering it."""
    if request.content_length is not None and request.content_length > max_bytes:
        raise ApiError(413, "body_too_large", f"body over {max_bytes} bytes")
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await request.content.readany()
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > max_bytes:
            raise ApiError(413, "body_too_large", f"body over {max_bytes} bytes")
        chunks.append(chunk)


def require_text(data: dict[str, Any], field: str = "text", *, max_chars: int = 2000) -> str:
    value = data.get(field)
    if not isinstance(value, str):
        raise ApiError(422, "invalid_field", f"'{field}' must be a string", field=field)
    value = value.strip()
    if not value:
        raise ApiError(422, "invalid_field", f"'{field}' must not be empty", field=field)
    if len(value) > max_chars:
        raise ApiError(422, "text_too_long", f"'{field}' has {len(value)} characters; at most {max_chars}",
                       field=field, limit=max_chars)
    if "\x00" in value:
        raise ApiError(422, "invalid_field", f"'{field}' contains a NUL character", field=field)
    return value
