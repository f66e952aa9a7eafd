"""`assist kiosk serve`: the kiosk in a library's web browser, through textual-serve.

Each browser tab is its own kiosk: textual-serve starts one process per websocket (kiosk/web_app.py
is what it runs) and asks it to quit when the tab closes; the process's memory, and with it the
visit, goes with it. What this adds to textual-serve's Server:

- at most `kiosk.web_max_sessions` kiosks at once (each a process of about 100 MB): one tab more is
  shown a plain page saying that all the kiosks are busy, with HTTP 503;
- a kiosk that has not left within STOP_SECONDS of its tab closing is terminated, then killed, so a
  stuck one never keeps a place, or a resident's answers;
- websockets from the kiosk's own page only (another site's page cannot take the places);
- pages of its own (kiosk/web_pages/): nothing fetched from outside (textual-serve's page loads a font
  from Google), addresses relative to the page, so a reverse proxy in front needs no configuration
  here, and a plain-English page when a session ends.

Serving on a port is inbound: the kiosk still makes no network call of its own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp_jinja2
import textual_serve
from aiohttp import WSCloseCode, web
from textual_serve.app_service import AppService
from textual_serve.server import Server, to_int

log = logging.getLogger(__name__)

PAGES = Path(__file__).with_name("web_pages")
#: textual-serve's own script and the font it draws the terminal with.
STATIC = Path(textual_serve.__file__).with_name("static")
#: Seconds a kiosk has to leave after its tab closes (then again after SIGTERM) before it is stopped harder.
STOP_SECONDS = 5
#: What a busy page tells a browser about trying again (seconds).
RETRY_AFTER_SECONDS = 60
#: No page here is worth keeping: a shared PC's browser should not show it again from its cache.
NO_STORE = {"Cache-Control": "no-store"}


class KioskSession(AppService):
    """One tab's kiosk process."""

    async def end(self) -> None:
        """Ask the kiosk to quit (its visit goes with its memory); one still there after STOP_SECONDS is
        terminated, and one still there after that killed. Over when its output has closed and it has
        exited."""
        process = self._process  # AppService's handle on the process it started
        stopping = asyncio.ensure_future(self.stop())
        for harder in (None, "terminate", "kill"):
            if harder is not None and process is not None:
                log.warning("a kiosk web session did not leave when its tab closed: %s", harder)
                with suppress(ProcessLookupError):
                    getattr(process, harder)()
            try:
                await asyncio.wait_for(asyncio.shield(stopping), STOP_SECONDS)
                if process is not None:
                    await asyncio.wait_for(process.wait(), STOP_SECONDS)
                return
            except TimeoutError:
                continue


class KioskServer(Server):
    """textual-serve's server, with a limit on kiosks at once and pages of its own."""

    def __init__(self, command: str, *, host: str, port: int, max_sessions: int, council: str, phone: str) -> None:
        super().__init__(command, host=host, port=port, title=council, statics_path=STATIC, templates_path=PAGES)
        self.max_sessions = max_sessions
        self.phone = phone
        self.sessions: set[KioskSession] = set()

    @property
    def full(self) -> bool:
        return len(self.sessions) >= self.max_sessions

    @staticmethod
    def closer(websocket: web.WebSocketResponse) -> Callable[[], Awaitable[None]]:
        """What a session calls when its kiosk has left by itself (a timeout, an error)."""
        async def close() -> None:
            await websocket.close()
        return close

    def initialize_logging(self) -> None:
        """assist's own logging is in place (assist/cli): none of textual-serve's. aiohttp's access log
        is quietened: it would record each visitor's address."""
        logging.getLogger("aiohttp.access").setLevel(logging.WARNING)

    async def on_startup(self, app: web.Application) -> None:
        log.info("kiosk served on http://%s:%d/ (at most %d at once)", self.host, self.port, self.max_sessions)

    async def handle_index(self, request: web.Request) -> web.StreamResponse:
        if self.full:
            log.info("all %d kiosks busy: a browser was shown the busy page", self.max_sessions)
            page = aiohttp_jinja2.render_template("busy.html", request, {"council": self.title, "phone": self.phone},
                                                  status=503)
            page.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        else:
            font_size = to_int(request.query.get("fontsize", "16"), 16)
            page = aiohttp_jinja2.render_template("kiosk.html", request, {"title": self.title, "font_size": font_size})
        page.headers.update(NO_STORE)
        return page

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        """One tab's kiosk, from its websocket opening to its closing (textual-serve's, with the limit
        and the bounded end)."""
        if not same_site(request):
            log.warning("a kiosk websocket opened by another site's page was refused")
            raise web.HTTPForbidden(text="This kiosk answers its own page only.")
        websocket = web.WebSocketResponse(heartbeat=15)
        await websocket.prepare(request)
        if self.full:  # a tab whose page was served just before the last place was taken
            await websocket.close(code=WSCloseCode.TRY_AGAIN_LATER, message=b"all kiosks are busy")
            return websocket
        session = KioskSession(self.command, write_bytes=websocket.send_bytes, write_str=websocket.send_str,
                               close=self.closer(websocket), download_manager=self.download_manager)
        self.sessions.add(session)
        log.info("kiosk web session started (%d of %d)", len(self.sessions), self.max_sessions)
        try:
            width = to_int(request.query.get("width", "80"), 80)
            height = to_int(request.query.get("height", "24"), 24)
            await session.start(width, height)
            await self._process_messages(websocket, session)
        except (ValueError, KeyError, TypeError, AssertionError) as error:  # not what textual.js sends
            log.warning("a kiosk tab sent what its kiosk cannot read (%s): session ended", type(error).__name__)
        except Exception:
            log.exception("kiosk web session failed")
        finally:
            await session.end()
            self.sessions.discard(session)
            log.info("kiosk web session ended (%d left)", len(self.sessions))
        return websocket


def same_site(request: web.Request) -> bool:
    """Whether a websocket comes from the kiosk's own page. A browser says which page opened it
    (Origin); any other site's page, open on a library PC, could otherwise take every place. Behind a
    proxy, the proxy must pass the Host it was asked for (docs/kiosk.md)."""
    origin = request.headers.get("Origin")
    return origin is None or urlsplit(origin).netloc == request.host
