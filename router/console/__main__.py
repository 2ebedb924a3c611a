"""Console user administration from the shell, on the router's Redis (REDIS_URL, read by Settings).

    python -m router.console users add NAME --role operator      # password from stdin, else generated
    python -m router.console users list
    python -m router.console users passwd NAME                    # password from stdin, else generated
    python -m router.console users role NAME supervisor
    python -m router.console users disable NAME | enable NAME | remove NAME

A password piped on stdin (``echo 'long-secret' | ...``) is used as is: whoever pipes it chose it, so
the console does not ask for a change (``--temporary`` makes it ask at the first login, for a password
handed to someone else). From a terminal, or with empty stdin, a random one is generated and printed
once; it must be changed at the first login. ``passwd``, ``role``, ``disable`` and ``remove`` end every
console session of the user, open live views included. ``passwd`` also takes a first-start admin
password that no longer works off the disk under VAR_DIR (Settings.var_dir: var/ unless set; scripts/env.sh
sets it).
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from redis.exceptions import RedisError

from router.console.auth import Role, password_from_stdin
from router.console.users import InvalidUser, UserExists, UserNotFound, UserStore, refresh_bootstrap_notice
from router.settings import Settings

__all__ = ["main"]


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    from router.app import close_redis, connect_redis

    # REDIS_SENTINELS in the production topology (deploy/)
    redis = connect_redis(settings.redis_url, sentinels=settings.redis_sentinels,
                          sentinel_service=settings.redis_sentinel_service)
    store = UserStore(redis)
    try:
        if args.command == "list":
            for u in await store.list():
                print(f"{u.name}\t{u.role.value}\t{'disabled' if u.disabled else 'active'}")
            return 0
        if args.command in ("add", "passwd"):
            password, generated = password_from_stdin()
            must_change = generated or args.temporary
            then = " (must be changed at the first login)" if must_change else ""
            if args.command == "add":
                await store.add(args.name, args.role, password, must_change=must_change)
                print(f"created {args.name} ({args.role}){then}")
            else:
                await store.set_password(args.name, password, must_change=must_change)
                print(f"password of {args.name} changed{then}; their console sessions are ended")
                # The first admin's password file, if it was theirs, is stale (nothing happens without one).
                await refresh_bootstrap_notice(redis, settings.var_dir)
            if generated:
                print(f"{args.name} / {password}")
            return 0
        if args.command == "role":
            await store.set_role(args.name, args.role)
            print(f"{args.name} is now {args.role}; their console sessions are ended")
        elif args.command in ("disable", "enable"):
            await store.set_disabled(args.name, args.command == "disable")
            print(f"{args.name} {args.command}d" + ("; their console sessions are ended"
                                                    if args.command == "disable" else ""))
        elif args.command == "remove":
            await store.remove(args.name)
            print(f"removed {args.name}; their console sessions are ended")
        return 0
    except InvalidUser as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except UserExists:
        print(f"error: user {args.name} already exists", file=sys.stderr)
        return 1
    except UserNotFound:
        print(f"error: no user {args.name}", file=sys.stderr)
        return 1
    finally:
        await close_redis(redis)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m router.console", description="operator console users")
    sub = parser.add_subparsers(dest="group", required=True)
    users = sub.add_parser("users", help="manage console users").add_subparsers(dest="command", required=True)
    roles = [r.value for r in Role]
    add = users.add_parser("add", help="create a user (password from stdin, else generated and printed)")
    add.add_argument("name")
    add.add_argument("--role", choices=roles, default=Role.OPERATOR.value)
    passwd = users.add_parser("passwd", help="set a password (from stdin, else generated and printed)")
    passwd.add_argument("name")
    for p in (add, passwd):
        p.add_argument("--temporary", action="store_true",
                       help="a password from stdin must be changed at the first login too")
    users.add_parser("list", help="list users")
    for cmd in ("disable", "enable", "remove"):
        users.add_parser(cmd).add_argument("name")
    role = users.add_parser("role", help="change a user's role")
    role.add_argument("name")
    role.add_argument("role", choices=roles)
    args = parser.parse_args(argv)
    settings = Settings.from_env()  # REDIS_URL, VAR_DIR: the router's own, as scripts/env.sh sets them
    try:
        return asyncio.run(_run(args, settings))
    except (OSError, RedisError) as exc:
        print(f"error: cannot reach Redis at {settings.redis_url} (REDIS_URL): {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
