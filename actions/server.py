"""The action server, closed to everyone but Rasa: ``python -m actions.server [--port 5055]``.

rasa-sdk's own ``rasa run actions`` listens on 0.0.0.0 and answers anyone; this action server holds a
token for the router's API, so from the network it could create, read and rate tickets for anyone. Here
the same rasa-sdk app is served
- on 127.0.0.1 unless ACTIONS_HOST says otherwise (a deployment behind a private network names its
  address explicitly);
- only to callers that present ACTIONS_TOKEN — Rasa sends it as ``?token=`` (endpoints.yml
  ``action_endpoint.token``); the health check stays open and says nothing but "ok";
- never without a token: with ACTIONS_TOKEN unset it refuses to start.
"""

from __future__ import annotations

import argparse
import hmac
import logging
import os
import sys
from typing import Any

__all__ = ["create_app", "main", "TOKEN_ENV"]

log = logging.getLogger(__name__)

TOKEN_ENV = "ACTIONS_TOKEN"
OPEN_PATHS = ("/health",)


def create_app(token: str, package: str = "actions") -> Any:
    """The rasa-sdk Sanic app with the token check in front of every route but the health check."""
    if not token:
        raise SystemExit(f"{TOKEN_ENV} is not set: the action server will not run without a token "
                         "(scripts/env.sh generates one under var/)")
    from rasa_sdk.endpoint import create_app as sdk_app
    from sanic import response

    app = sdk_app(package, cors_origins=[])

    @app.middleware("request")
    async def require_token(request: Any) -> Any:
        if request.path in OPEN_PATHS:
            return None
        given = request.args.get("token") or request.headers.get("X-Actions-Token", "")
        if not hmac.compare_digest(str(given).encode(), token.encode()):
            return response.json({"error": "unauthorized"}, status=401)
        return None

    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=int(os.environ.get("ACTIONS_PORT", "5055")))
    parser.add_argument("--host", default=os.environ.get("ACTIONS_HOST", "127.0.0.1"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s - %(message)s")
    app = create_app(os.environ.get(TOKEN_ENV, ""))
    log.info("action server on http://%s:%d (token required)", args.host, args.port)
    app.run(args.host, args.port, workers=1, access_log=False)


if __name__ == "__main__":
    main(sys.argv[1:])
