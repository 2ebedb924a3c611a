"""Unit accounts of the work portal from the shell, on the router's Redis (REDIS_URL, read by Settings).

    python -m router.portal units add NAME --kind department|street|community|grid|district|city --unit UNIT
    python -m router.portal units list
    python -m router.portal units passwd NAME
    python -m router.portal units disable NAME | enable NAME

UNIT is the name tickets are dispatched to: 区城管局, 粤海街道办事处, 科技园社区综治中心, G01网格员, and for the
levels a 上报 climbs to, 南山区12345分中心 (district: the district's name + 12345分中心) and
深圳市12345热线中心 (city). A password
piped on stdin is used as is; otherwise a random one is generated and printed once. ``passwd`` and
``disable`` end the login's portal sessions.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from redis.exceptions import RedisError

from router.adapters.units import InvalidUnit, UnitExists, UnitKind, UnitNotFound, UnitStore
from router.console.auth import password_from_stdin
from router.settings import Settings

__all__ = ["main"]


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    from router.app import close_redis, connect_redis

    redis = connect_redis(settings.redis_url, sentinels=settings.redis_sentinels,
                          sentinel_service=settings.redis_sentinel_service)
    store = UnitStore(redis)
    try:
        if args.command == "list":
            for u in await store.list():
                print(f"{u.name}\t{u.kind.value}\t{u.unit}\t{'disabled' if u.disabled else 'active'}")
            return 0
        if args.command in ("add", "passwd"):
            password, generated = password_from_stdin()
            if args.command == "add":
                unit = await store.add(args.name, args.kind, args.unit, password)
                print(f"created {unit.name} ({unit.kind.value}: {unit.unit})")
            else:
                await store.set_password(args.name, password)
                print(f"password of {args.name} changed; their portal sessions are ended")
            if generated:
                print(f"{args.name} / {password}")
            return 0
        await store.set_disabled(args.name, args.command == "disable")
        print(f"{args.name} {args.command}d")
        return 0
    except InvalidUnit as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except UnitExists:
        print(f"error: login {args.name} already exists", file=sys.stderr)
        return 1
    except UnitNotFound:
        print(f"error: no login {args.name}", file=sys.stderr)
        return 1
    finally:
        await close_redis(redis)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m router.portal", description="work portal unit accounts")
    sub = parser.add_subparsers(dest="group", required=True)
    units = sub.add_parser("units", help="manage unit logins").add_subparsers(dest="command", required=True)
    add = units.add_parser("add", help="create a unit login (password from stdin, else generated and printed)")
    add.add_argument("name", help="login name: 2-32 letters, digits, . _ -")
    add.add_argument("--kind", required=True, choices=[k.value for k in UnitKind])
    add.add_argument("--unit", required=True, help="the name tickets are dispatched to, e.g. 区城管局")
    units.add_parser("list", help="list unit logins")
    for cmd in ("passwd", "disable", "enable"):
        units.add_parser(cmd).add_argument("name")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    try:
        return asyncio.run(_run(args, settings))
    except (OSError, RedisError) as exc:
        print(f"error: cannot reach Redis at {settings.redis_url} (REDIS_URL): {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
