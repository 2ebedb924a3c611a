"""Shared fixtures: a real redis-server of our own on a free port, never the machine's shared one."""

from __future__ import annotations

import functools
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """A throwaway redis-server (AOF on, in a temp dir) that tests may stop and start again."""

    def __init__(self) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        self.exe = exe
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="rsa-test-redis-")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.exe, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir,
             "--appendonly", "yes", "--save", "", "--protected-mode", "yes"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.cleanup()


@pytest.fixture
async def redis(redis_server: RedisServer):
    """An async redis-py client on a flushed database of the session's own server."""
    import redis.asyncio as aioredis

    if redis_server.proc is None:
        redis_server.start()
    client = aioredis.Redis.from_url(redis_server.url, decode_responses=True)
    await client.flushdb()
    yield client
    await client.aclose()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    if redis_server.proc is None:
        redis_server.start()
    return redis_server.url


os.environ.setdefault("TZ", "Asia/Shanghai")


@functools.cache
def shared_domain():
    """The router's domain (classifier, resolver, catalogue, understanding) as `make classifier` built it,
    loaded once for the session (about 2 s)."""
    from router.app import load_domain
    from router.settings import Settings

    return load_domain(Settings.from_env())


@pytest.fixture(scope="session")
def domain():
    return shared_domain()


@pytest.fixture
def make_app(redis, domain, tmp_path):
    """The router as create_app builds it — every route and middleware — over the test's own Redis and
    the session's domain, its var/ in a temporary folder. ``make_app(api_token=..., deps={"clock": c})``."""
    from router.app import Deps, create_app
    from router.settings import Settings

    def make(*, deps: dict | None = None, **settings):
        settings.setdefault("var_dir", tmp_path)
        return create_app(Settings(**settings), Deps(redis=redis, domain=domain, **(deps or {})),
                          with_scheduler=False)

    return make


@pytest.fixture(scope="session")
def stack():
    """The whole stack as `make run` starts it (own Redis, free ports), shared by e2e and browser tests."""
    from tests.e2e.stack import Stack

    s = Stack()
    s.start()
    yield s
    s.stop()
