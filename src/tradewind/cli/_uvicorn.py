"""Run uvicorn with a main loop that wakes once a second when idle, not ten times (#17).

uvicorn's ``Server.main_loop`` sleeps 0.1 s between ticks to notice a shutdown request and,
every tenth tick, refresh the ``date`` header: an idle web server then wakes 10 times a
second, which was about 0.2 % of a core on its own. :class:`QuietServer` ticks once a second
(the header still changes each second) and wakes at once when asked to stop.
"""

from __future__ import annotations

import asyncio
import contextlib
from types import FrameType
from typing import Any

import uvicorn

TICK = 1.0


class QuietServer(uvicorn.Server):
    """``uvicorn.Server`` whose idle loop wakes once a second and at once on a stop signal."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._stop_asked: asyncio.Event | None = None

    async def main_loop(self) -> None:
        self._stop_asked = asyncio.Event()
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            # on_tick refreshes the date header when counter % 10 == 0: count in tenths.
            counter = (counter + 10) % 864000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop_asked.wait(), TICK)
            should_exit = await self.on_tick(counter)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        if self._stop_asked is not None:  # the handler runs on the loop's (main) thread
            self._stop_asked.set()


def serve(app: Any, **options: Any) -> None:
    """Serve ``app`` (an ASGI app, or an import string) in this process, as ``uvicorn.run``
    does with one worker (exit status 3 when it could not start, as uvicorn's)."""
    server = QuietServer(uvicorn.Config(app, **options))
    server.run()
    if not server.started:
        raise SystemExit(3)
