"""Serve an aiohttp application on a free port of 127.0.0.1 for a test or benchmark."""

from __future__ import annotations

import asyncio
import socket

import aiohttp
from aiohttp import web


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def serve_app(app: web.Application) -> tuple[web.AppRunner, int]:
    """Start ``app`` on 127.0.0.1 at a free port; returns (runner to clean up, port)."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert server is not None
    return runner, int(server.sockets[0].getsockname()[1])  # type: ignore[attr-defined]


async def wait_ready(
    session: aiohttp.ClientSession, url: str, proc: asyncio.subprocess.Process, tries: int = 300
) -> None:
    """Poll ``url`` every 0.05 s until it answers 200 (at most ``tries`` times).

    Raises:
        AssertionError: when ``proc`` exits first, or ``url`` never answers 200.
    """
    for _ in range(tries):
        if proc.returncode is not None:
            raise AssertionError(f"advisor serve exited with {proc.returncode}")
        try:
            async with session.get(url) as resp:
                if resp.status == 200:
                    return
        except aiohttp.ClientConnectionError:
            pass
        await asyncio.sleep(0.05)
    raise AssertionError("advisor serve never became ready")


async def read_until(stream: asyncio.StreamReader, marker: str, timeout: float = 30) -> str:
    """Lines of a child's ``stream`` until one holds ``marker`` or it ends; all read so far.

    Raises:
        TimeoutError: after ``timeout`` seconds.
    """
    seen = ""

    async def read() -> str:
        nonlocal seen
        while marker not in seen:
            line = await stream.readline()
            if not line:
                break
            seen += line.decode()
        return seen

    return await asyncio.wait_for(read(), timeout)
