"""The kiosk app: one resident at a time, from "Choose your language" to a reference number.

Each page is a screen in `kiosk/screens/` that posts what the resident did as a message
(kiosk/messages.py); the handlers here pass it to the `Journey` (kiosk/journey.py), which decides
what comes next, and show the page it names. Pages never talk to each other or call the app.
Lock-down, the failure guard and staff pages are the app's other parts (kiosk/lockdown.py,
kiosk/failures.py, kiosk/staff.py); inactivity is timed by kiosk/inactivity.py.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from typing import TYPE_CHECKING, Any, Callable

from textual import events, on
from textual.binding import Binding
from textual.reactive import Reactive
from textual.screen import Screen
from textual.theme import Theme

import locales
from kiosk import cells, messages, pages, themes
from kiosk.failures import FailureGuard
from kiosk.hangup import HungUp, StopOnSignals
from kiosk.inactivity import Due, Inactivity
from kiosk.journey import Journey
from kiosk.lockdown import LockedDownApp
from kiosk.navigation import screen_for
from kiosk.screens.base import KioskScreen
from kiosk.screens.error import ErrorScreen
from kiosk.screens.start import ChangeLanguageScreen, LanguageScreen
from kiosk.screens.timeout import TimeoutScreen
from kiosk.speech import Speaker
from kiosk.staff import StaffDesk
from kiosk.statuses import Connection
from locales import N_
from sync.config import Settings
from sync.places.search import Gazetteer
from sync.store import Store
from sync.store.db import StoreError

if TYPE_CHECKING:
    from textual.driver import Driver

log = logging.getLogger(__name__)

#: How often the status line is read again from the store.
STATUS_EVERY_SECONDS = 15


class KioskApp(StaffDesk, FailureGuard, LockedDownApp):
    CSS_PATH = "kiosk.tcss"
    TITLE = "assist"
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    BINDINGS = [
        Binding("f2", "toggle_colours", N_("Change colours"), key_display="F2", id="kiosk.colours"),
        Binding("f3", "read_aloud", N_("Read aloud"), key_display="F3", id="kiosk.read-aloud"),
        # TRANSLATORS: The F4 key hint and the top-bar button that change the language of the kiosk. One short word.
        Binding("f4", "change_language", N_("Language"), key_display="F4", id="kiosk.language"),
        # Discreet: not in the key hints, and it leads only to a PIN.
        Binding("f9", "volunteer", N_("Volunteer"), key_display="F9", show=False, id="kiosk.volunteer"),
    ]
    #: The kiosk's colours from the first frame: with them among `available_themes`, Textual's own
    #: start sets the stylesheet up in them (setting `theme` after it parsed the whole stylesheet twice).
    theme: Reactive[str] = Reactive(themes.DEFAULT)

    def __init__(self, settings: Settings, store: Store, *, monotonic: Callable[[], float] = time.monotonic,
                 speaker: Speaker | None = None, cursor_blink: bool = True, handle_signals: bool = False,
                 allow_quit: bool = False) -> None:
        cells.count_spacing_marks()  # Bengali and Panjabi lines as wide as the terminal draws them
        super().__init__()
        self.settings = settings
        self.store = store
        self.monotonic = monotonic
        self.speaker = speaker if speaker is not None else Speaker()
        self.cursor_blink = cursor_blink
        self.handle_signals = handle_signals
        self.allow_quit = allow_quit
        self.languages = locales.enabled(settings.languages.enabled, settings.languages.reviewed_only)
        self.journey = Journey(store, settings.device_id)
        self.places = Gazetteer(store.db.places)  # one for the kiosk's life: its street list is built once
        self.inactivity = Inactivity(monotonic, settings.kiosk.timeout_seconds, settings.kiosk.warning_seconds)
        self.connection: Connection | None = None
        self.failures: list[float] = []
        self.status_read_at = float("-inf")
        self.stopper: StopOnSignals | None = None

    # -----------------------------------------------------------------------------------------
    # Language, theme, the keys a resident has

    @property
    def t(self) -> locales.Translator:
        return locales.translator(self.journey.session.language)

    @property
    def available_themes(self) -> dict[str, Theme]:
        return {**super().available_themes, **themes.BY_NAME}

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(themes.CONTRAST.variables)

    def apply_language(self) -> None:
        self.set_class(self.t.right_to_left, "-rtl")
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "read_aloud":
            return self.speaker.available
        if action == "change_language":
            return len(self.languages) > 1 and not isinstance(self.screen, (LanguageScreen, TimeoutScreen))
        if action == "volunteer":  # not from a staff page (no pages stacked on pages) or mid-question
            return not isinstance(self.screen, (TimeoutScreen, ErrorScreen)) and getattr(
                self.screen, "OFFERS_VOLUNTEER", True)
        return super().check_action(action, parameters)

    def action_toggle_colours(self) -> None:
        self.theme = themes.other(self.theme)

    def action_read_aloud(self) -> None:
        screen = self.screen
        text = screen.spoken_text() if isinstance(screen, (KioskScreen, TimeoutScreen)) else ""
        self.speaker.say(text, self.journey.session.language)

    def action_change_language(self) -> None:
        if self.check_action("change_language", ()):  # a top-bar tap as well as F4
            self.push_screen(ChangeLanguageScreen())

    def action_stop(self) -> None:
        """Ctrl+Q with --allow-quit: forget the session and exit (a demonstration, not a library)."""
        log.info("kiosk stopped with Ctrl+Q (--allow-quit)")
        self.leave()

    def leave(self, return_code: int = 0) -> None:
        """Stop speaking, forget the visit (recorded as ended for the take-up report: stopped, or
        an error when the failure guard gives up) and exit, whatever the store says."""
        self.speaker.stop()
        try:
            self.journey.end("error" if return_code else "stopped")
        except Exception as error:  # the visit is forgotten and the kiosk exits all the same
            log.warning("could not record the end of the visit: %s", error)
            self.journey.session.wipe()
        self.exit(return_code=return_code)

    def get_driver_class(self) -> type[Driver]:
        """Textual's terminal driver, made to notice a hang-up (kiosk/hangup.py); any other (the
        web's, one named in TEXTUAL_DRIVER) as Textual chooses it."""
        from textual.drivers.linux_driver import LinuxDriver

        from kiosk.hangup import KioskDriver

        chosen = super().get_driver_class()
        return KioskDriver if chosen is LinuxDriver else chosen

    # -----------------------------------------------------------------------------------------
    # Start-up, the heartbeat and inactivity

    def on_mount(self) -> None:
        self.refresh_connection()
        self.push_screen(LanguageScreen())
        self.set_interval(1, self.heartbeat, name="kiosk-heartbeat")
        if self.handle_signals:
            self.stopper = StopOnSignals(asyncio.get_running_loop(), self.stop_by_signal)
            self.stopper.install()
        log.info("kiosk started on %s with %d services (catalogue %s)", self.settings.device_id,
                 len(self.journey.catalogue.services), self.journey.catalogue.version)

    def stop_by_signal(self, number: int) -> None:
        log.info("kiosk stopping on signal %s: the visit is wiped", signal.Signals(number).name)
        self.leave()

    @on(HungUp)
    def hung_up(self) -> None:
        """The terminal went away (closed, dropped, restarted): nobody can use this visit now."""
        log.info("kiosk stopping: its terminal hung up; the visit is wiped")
        if self.stopper is not None:
            self.stopper.stopping("hang-up")
        self.leave()

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.InputEvent):
            self.inactivity.touched()
        await super().on_event(event)

    @property
    def active(self) -> bool:
        """Whether a timeout has anything to protect: a page past the start, or the journey's own."""
        return len(self.screen_stack) > 2 or self.journey.active

    def heartbeat(self) -> None:
        """Once a second (tests call it after moving the clock): time out, count down, refresh."""
        try:
            due = self.inactivity.due(self.active)
            if due is Due.ERROR_OVER:
                self.call_later(self.restart, "error")
            elif due is Due.TIMED_OUT:
                log.info("kiosk session timed out: answers cleared")
                self.call_later(self.restart, "timeout")
            elif due is Due.WARN:
                self.speaker.stop()
                self.push_screen(TimeoutScreen(self.inactivity.remaining))
            elif due is Due.COUNTDOWN and isinstance(self.screen, TimeoutScreen):
                self.screen.remaining = self.inactivity.remaining
            if self.monotonic() - self.status_read_at >= STATUS_EVERY_SECONDS:
                self.refresh_connection()
        except Exception as error:
            self.fail(error)

    @on(messages.MoreTime)
    def more_time(self) -> None:
        """"I need more time": the full time again, as often as the resident asks."""
        self.inactivity.more_time()
        if isinstance(self.screen, TimeoutScreen):
            self.pop_screen()

    def refresh_connection(self) -> None:
        self.status_read_at = self.monotonic()
        try:
            self.connection = Connection.read(self.store)
        except Exception as error:  # the status line is a nicety: never fail a resident over it
            log.warning("could not read the kiosk's status from the store: %s", error)
            return
        for screen in self.screen_stack:
            if isinstance(screen, KioskScreen):
                screen.reset_status()

    # -----------------------------------------------------------------------------------------
    # The journey: each page's message, to the page the journey names

    async def show(self, page: pages.Page | None) -> None:
        if isinstance(page, pages.BackToCheck):
            await self.return_to_check()
        elif page is not None:
            await self.push_screen(screen_for(page))

    @on(messages.LanguageChosen)
    @messages.guarded
    async def language_chosen(self, message: messages.LanguageChosen) -> None:
        shown = self.journey.language_chosen(message.code)
        self.apply_language()
        for page in shown:
            await self.show(page)

    @on(messages.LanguageSwitched)
    @messages.guarded
    async def language_switched(self, message: messages.LanguageSwitched) -> None:
        """Mid-visit: every page in the stack is drawn again in the new language, answers kept."""
        await self.pop_screen()  # the language menu
        if not self.journey.language_switched(message.code):
            return
        self.apply_language()
        for screen in self.screen_stack[:-1]:  # drawn again when they are next shown
            if isinstance(screen, KioskScreen):
                screen.stale = True
        if isinstance(self.screen, KioskScreen):
            await self.screen.redraw()

    @on(messages.StartPressed)
    @messages.guarded
    async def start_pressed(self) -> None:
        await self.show(self.journey.welcome_read())

    @on(messages.TaskChosen)
    @messages.guarded
    async def task_chosen(self, message: messages.TaskChosen) -> None:
        await self.show(self.journey.task_chosen(message.task))

    @on(messages.GroupChosen)
    @messages.guarded
    async def group_chosen(self, message: messages.GroupChosen) -> None:
        await self.show(self.journey.group_chosen(message.group))

    @on(messages.ServiceChosen)
    @messages.guarded
    async def service_chosen(self, message: messages.ServiceChosen) -> None:
        await self.show(self.journey.service_chosen(message.code))

    @on(messages.NoticeRead)
    @messages.guarded
    async def notice_read(self, message: messages.NoticeRead) -> None:
        await self.show(self.journey.notice_read(message.page))

    @on(messages.Answered)
    @messages.guarded
    async def answered(self, message: messages.Answered) -> None:
        await self.show(self.journey.answered(message.key, message.value, changing=message.changing))

    @on(messages.ContactChosen)
    @messages.guarded
    async def contact_chosen(self, message: messages.ContactChosen) -> None:
        await self.show(self.journey.contact_chosen(message.wanted))

    @on(messages.ChangeRequested)
    @messages.guarded
    async def change_requested(self, message: messages.ChangeRequested) -> None:
        await self.show(self.journey.change_requested(message.key))

    async def return_to_check(self) -> None:
        from kiosk.screens.check import CheckAnswersScreen  # shown by now (kiosk/navigation.py)

        while len(self.screen_stack) > 2 and not isinstance(self.screen, CheckAnswersScreen):
            await self.pop_screen()
        if isinstance(self.screen, CheckAnswersScreen):
            await self.screen.recompose()
            self.screen.query_one("#body").focus()

    @on(messages.BackRequested)
    def go_back(self) -> None:
        if len(self.screen_stack) > 2:
            self.pop_screen()

    @on(messages.SendRequested)
    @messages.guarded
    async def send(self) -> None:
        """Save the draft; a store that cannot (full, busy) is explained on the check page, with
        nothing lost."""
        from kiosk.screens.check import CheckAnswersScreen  # shown by now (kiosk/navigation.py)

        try:
            sent = self.journey.send()
        except StoreError as error:
            if isinstance(self.screen, CheckAnswersScreen):
                self.screen.not_saved(error)
            return
        if sent is None:  # a second tap on Send
            return
        reference, confirmation = sent
        self.post_message(messages.Saved(reference))
        await self.restart("saved", keep_language=True, then=screen_for(confirmation))

    @on(messages.StartAgain)
    @messages.guarded
    async def start_again(self) -> None:
        await self.restart("finish")

    @messages.guarded
    async def restart(self, reason: str, *, keep_language: bool = False, then: Screen[Any] | None = None) -> None:
        """Forget the visit, in memory and on screen, and show the start (then `then`)."""
        self.speaker.stop()
        self.journey.end(reason, keep_language=keep_language)
        self.inactivity.more_time()
        if not keep_language:
            self.theme = themes.DEFAULT
        self.clear_notifications()
        with self.batch_update():  # the last page is not drawn again restyled (colours, direction)
            self.apply_language()
            await self.replace_visit(then)
        self.refresh_connection()
        self.post_message(messages.SessionEnded(reason))

    async def replace_visit(self, then: Screen[Any] | None) -> None:
        """The next page (`then` over the language menu, or a new language menu) in place of the
        visit's pages, none of which is shown again on the way: popping them one by one would make
        each the current page in turn, the resident's answers on it, for whoever stands behind.
        Textual has no call to drop screens from under the top one, so they leave its stack here."""
        stack = self._screen_stack  # Textual's own list, not screen_stack's copy
        if then is not None and len(stack) < 3:  # nothing of a visit on it
            await self.push_screen(then)
            return
        keep = 2 if then is not None else 1  # Textual's blank screen, and the first page under `then`
        visit = stack[keep:-1]
        del stack[keep:-1]
        await self.switch_screen(then if then is not None else LanguageScreen())
        for screen in visit:
            await screen.remove()
