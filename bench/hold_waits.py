"""Holds N concurrent `GET /api/v1/requests/{id}/wait` long polls on a vouch server until killed
(SIGTERM/SIGINT): N keep-alive connections, each asking again as soon as its hold (25 s) ends, as
`vouch requests wait` does. Standard library only (asyncio, raw HTTP/1.1).

    python3 bench/hold_waits.py URL TOKEN REQUEST_ID N

Prints "opened N" once every connection has sent its first poll; bench/waits.sh then waits for the
server's `vouch_request_waiters` gauge. An answer other than 200 is counted and reported on exit
(the process exits 1 then).
"""
from __future__ import annotations

import asyncio
import signal
import sys
from urllib.parse import urlsplit


async def one(host: str, port: int, path: str, token: str, opened: asyncio.Event,
              counts: dict, ready: list) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    request = (f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
               f"Authorization: Bearer {token}\r\n\r\n").encode()
    first = True
    try:
        while True:
            writer.write(request)
            await writer.drain()
            if first:
                first = False
                ready[0] += 1
                if ready[0] == ready[1]:
                    opened.set()
            status_line = await reader.readline()
            if not status_line:
                counts["closed"] += 1
                return
            status = int(status_line.split()[1])
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b"\n", b""):
                    break
                name, _, value = line.decode("latin-1").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            if length:
                await reader.readexactly(length)
            counts["ok" if status == 200 else "bad"] += 1
    finally:
        writer.close()


async def main() -> int:
    url, token, rid, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    parts = urlsplit(url)
    path = f"/api/v1/requests/{rid}/wait?timeout=25"
    counts = {"ok": 0, "bad": 0, "closed": 0}
    ready = [0, n]
    opened = asyncio.Event()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    tasks = [asyncio.create_task(one(parts.hostname, parts.port, path, token, opened, counts,
                                     ready)) for _ in range(n)]
    await opened.wait()
    print(f"opened {n}", flush=True)
    await stop.wait()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    print(f"answers: {counts['ok']} ok, {counts['bad']} not 200, {counts['closed']} closed",
          flush=True)
    return 1 if counts["bad"] or counts["closed"] else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
