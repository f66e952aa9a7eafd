"""The kiosk app: one resident at a time, from "Choose your language" to a reference number.

The app holds the session (in memory only) and decides which page comes next; each page is a
screen in `kiosk/screens/` that reports what the resident did by calling one of the journey
methods below (`choose_service`, `answered`, `send`, ...). Pages never talk to each other.

Locked down for a public place: no quit key, no command palette, no theme picker, no copying to
the clipboard, no text selection. It is left only through a signal from the operating system
(or, later, volunteer mode). Inactivity is timed with an injectable monotonic clock; an
unexpected error shows a calm page in the resident's language, logs the traceback for staff and
starts again, leaving saved submissions untouched.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from dataclasses import dataclass
from datetime import date
from typing import Any, Callable

from textual import events
from textual.app import App
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen

import locales
from kiosk import themes
from kiosk.i18n import LOCAL_TIME
from kiosk.screens.base import KioskScreen
from kiosk.screens.check import CheckAnswersScreen
from kiosk.screens.confirmation import ConfirmationScreen, Receipt
from kiosk.screens.contact import ContactScreen
from kiosk.screens.dashboard import AttentionScreen, DashboardScreen
from kiosk.screens.error import ErrorScreen
from kiosk.screens.location import LocationScreen
from kiosk.screens.question import QuestionScreen
from kiosk.screens.services import GroupScreen, ServiceScreen, UrgentScreen
from kiosk.screens.start import ChangeLanguageScreen, LanguageScreen, WelcomeScreen
from kiosk.screens.status import ReferenceScreen
from kiosk.screens.timeout import TimeoutScreen
from kiosk.screens.volunteer import ConsentScreen, VolunteerMenuScreen, VolunteerNameScreen
from kiosk.session import CONTACT, URGENT, Session
from kiosk.speech import Speaker
from kiosk.statuses import Connection
from kiosk.widgets.banner import VolunteerBanner
from locales import N_
from sync.config import Settings
from sync.store import events as events_module
from sync.store import volunteers
from sync.store.db import StoreError

log = logging.getLogger(__name__)

#: Seconds the error page stays before the kiosk starts again by itself.
ERROR_RETURN_SECONDS = 8
#: How often the status line is read again from the store.
STATUS_EVERY_SECONDS = 15
#: More unexpected errors than this within a minute: stop, and let systemd start a fresh process.
MAX_FAILURES = 5
#: Why a visit ended without a submission, as the take-up report counts it.
ABANDON_STEP = {"timeout": "timeout", "error": "error", "finish": "restart"}
#: Textual actions a resident must never reach (from a key, a link or anything else).
LOCKED_ACTIONS = frozenset({"quit", "command_palette", "change_theme", "toggle_dark", "suspend_process",
                            "screenshot", "help_quit", "show_help_panel", "hide_help_panel"})


class KioskApp(App[None], inherit_bindings=False):
    CSS_PATH = "kiosk.tcss"
    TITLE = "assist"
    ENABLE_COMMAND_PALETTE = False
    ALLOW_SELECT = False
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    BINDINGS = [
        Binding("f2", "toggle_colours", N_("Change colours"), key_display="F2", id="kiosk.colours"),
        Binding("f3", "read_aloud", N_("Read aloud"), key_display="F3", id="kiosk.read-aloud"),
        # TRANSLATORS: The F4 key hint and the top-bar button that change the language of the kiosk. One short word.
        Binding("f4", "change_language", N_("Language"), key_display="F4", id="kiosk.language"),
        # Discreet: not in the key hints, and it leads only to a PIN.
        Binding("f9", "volunteer", N_("Volunteer"), key_display="F9", show=False, id="kiosk.volunteer"),
        # Ctrl+Q stops the kiosk only when it was started with --allow-quit (demonstrations).
        Binding("ctrl+q", "stop", show=False, priority=True, system=True, id="kiosk.stop"),
        # Keys that quit, suspend, copy or open things in Textual or a terminal do nothing here.
        Binding("ctrl+q,ctrl+c,ctrl+x,ctrl+p,ctrl+z,ctrl+backslash,ctrl+s", "nothing", show=False, priority=True,
                system=True, id="kiosk.locked"),
    ]

    @dataclass
    class Saved(Message):
        """A submission was saved (its reference, canonical)."""

        reference: str

    @dataclass
    class SessionEnded(Message):
        """Everything the resident chose and typed was forgotten: finish, timeout, error, saved."""

        reason: str

    def __init__(self, settings: Settings, store, *, monotonic: Callable[[], float] = time.monotonic,
                 speaker: Speaker | None = None, cursor_blink: bool = True, handle_signals: bool = False,
                 allow_quit: bool = False) -> None:
        super().__init__()
        self.settings = settings
        self.store = store
        self.monotonic = monotonic
        self.speaker = speaker if speaker is not None else Speaker()
        self.cursor_blink = cursor_blink
        self.handle_signals = handle_signals
        self.allow_quit = allow_quit
        self.languages = locales.enabled(settings.languages.enabled, settings.languages.reviewed_only)
        self.session = Session()
        #: The volunteer or supervisor signed in at this kiosk, if any (sync/volunteers.py).
        self.volunteer: volunteers.Volunteer | None = None
        self.catalogue = store.catalogue()
        self.connection: Connection | None = None
        self.last_input = monotonic()
        self.warned_at: float | None = None
        self.error_at: float | None = None
        self._status_at = float("-inf")
        self._failures: list[float] = []
        self._saving = False
        self._kiosk_ready = False
        for theme in themes.THEMES:
            self.register_theme(theme)
        self.theme = themes.DEFAULT

    # -----------------------------------------------------------------------------------------
    # Language, theme, lock-down

    @property
    def t(self) -> locales.Translator:
        return locales.translator(self.session.language)

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(themes.CONTRAST.variables)

    def _apply_language(self) -> None:
        self.set_class(self.t.right_to_left, "-rtl")
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in LOCKED_ACTIONS:
            return False
        if action == "read_aloud":
            return self.speaker.available
        if action == "stop":
            return self.allow_quit
        if action == "change_language":
            return len(self.languages) > 1 and not isinstance(self.screen, (LanguageScreen, TimeoutScreen))
        if action == "volunteer":  # not from a staff page (no pages stacked on pages) or mid-question
            return not isinstance(self.screen, (TimeoutScreen, ErrorScreen, ConsentScreen)) and \
                not getattr(self.screen, "STAFF", False)
        return True

    def action_stop(self) -> None:
        """Ctrl+Q with --allow-quit: forget the session and exit (a demonstration, not a library)."""
        log.info("kiosk stopped with Ctrl+Q (--allow-quit)")
        self.speaker.stop()
        self.session.wipe()
        self.exit()

    def action_nothing(self) -> None:
        """Quit, suspend, copy and the command palette are not for a public kiosk."""

    def copy_to_clipboard(self, text: str) -> None:
        """Never: a terminal's clipboard would keep what a resident typed for the next person."""

    def action_toggle_colours(self) -> None:
        self.theme = themes.other(self.theme)

    def action_read_aloud(self) -> None:
        screen = self.screen
        text = screen.spoken_text() if hasattr(screen, "spoken_text") else ""
        self.speaker.say(text, self.session.language)

    def today(self) -> date:
        return self.store.clock().astimezone(LOCAL_TIME).date()

    # -----------------------------------------------------------------------------------------
    # Start-up, the heartbeat and inactivity

    def on_mount(self) -> None:
        self.refresh_connection()
        self.push_screen(LanguageScreen())
        self.set_interval(1, self.heartbeat, name="kiosk-heartbeat")
        if self.handle_signals:
            loop = asyncio.get_running_loop()
            for number in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
                loop.add_signal_handler(number, self._stop_by_signal, number)
        self._kiosk_ready = True
        log.info("kiosk started on %s with %d services (catalogue %s)", self.settings.device_id,
                 len(self.catalogue.services), self.catalogue.version)

    def _stop_by_signal(self, number: int) -> None:
        log.info("kiosk stopping on signal %s", signal.Signals(number).name)
        self.speaker.stop()
        self.session.wipe()
        self.exit()

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.InputEvent):
            self.last_input = self.monotonic()
        await super().on_event(event)

    @property
    def active(self) -> bool:
        """Whether there is anything to protect: a page past the start, anything chosen, or a
        volunteer signed in (an unattended kiosk must not stay signed in)."""
        return (len(self.screen_stack) > 2 or not self.session.pristine or self.session.language != "en"
                or self.volunteer is not None)

    def heartbeat(self) -> None:
        """Once a second (tests call it after moving the clock): time out, count down, refresh."""
        try:
            now = self.monotonic()
            if self.error_at is not None:
                if now - self.error_at >= ERROR_RETURN_SECONDS:
                    self.error_at = None
                    self.call_later(self._safely, self.reset, "error")
            elif self.warned_at is not None:
                remaining = self.settings.kiosk.warning_seconds - (now - self.warned_at)
                if remaining <= 0:
                    self.warned_at = None
                    log.info("kiosk session timed out: answers cleared")
                    self.call_later(self._safely, self.reset, "timeout")
                elif isinstance(self.screen, TimeoutScreen):
                    self.screen.remaining = int(-(-remaining // 1))
            elif self.active and now - self.last_input >= self.settings.kiosk.timeout_seconds:
                self.warn()
            if now - self._status_at >= STATUS_EVERY_SECONDS:
                self.refresh_connection()
        except Exception as error:
            self.fail(error)

    def warn(self) -> None:
        self.warned_at = self.monotonic()
        self.speaker.stop()
        self.push_screen(TimeoutScreen(self.settings.kiosk.warning_seconds))

    def more_time(self) -> None:
        """"I need more time": the full time again, as often as the resident asks."""
        self.warned_at = None
        self.last_input = self.monotonic()
        if isinstance(self.screen, TimeoutScreen):
            self.pop_screen()

    def refresh_connection(self) -> None:
        self._status_at = self.monotonic()
        try:
            self.connection = Connection.read(self.store)
        except Exception as error:  # the status line is a nicety: never fail a resident over it
            log.warning("could not read the kiosk's status from the store: %s", error)
            return
        for screen in self.screen_stack:
            if isinstance(screen, KioskScreen):
                screen.reset_status()

    # -----------------------------------------------------------------------------------------
    # The journey

    def record(self, event: str, step: str | None = None) -> None:
        """One take-up event for this visit (sync/events.py): never anything the resident typed."""
        session = self.session
        events_module.record(self.store, session.id, event, channel="kiosk", language=session.language,
                             service_code=session.service.code if session.service else None, step=step,
                             assisted=session.assisted)

    def choose_language(self, code: str) -> None:
        changed = code != self.session.language
        self.session.language = code
        self._apply_language()
        if not self.session.started:
            self.session.started = True
            self.record(events_module.STARTED)
        elif changed:  # back to the first page, and another language
            self.record(events_module.LANGUAGE)
        self.push_screen(WelcomeScreen())
        if self.needs_consent:
            self.push_screen(ConsentScreen(self.volunteer.name))

    @property
    def needs_consent(self) -> bool:
        """A volunteer is signed in whom this resident has not agreed to (a second volunteer who
        takes over needs the resident's agreement too)."""
        return self.volunteer is not None and self.session.assisted_by != self.volunteer.name

    def action_change_language(self) -> None:
        if self.check_action("change_language", ()):  # a top-bar tap as well as F4
            self.push_screen(ChangeLanguageScreen())

    async def change_language(self, code: str) -> None:
        """Mid-visit: every page in the stack is drawn again in `code`, answers kept."""
        await self.pop_screen()  # the language menu
        if code == self.session.language:
            return
        self.session.language = code
        self._apply_language()
        if self.session.started:
            self.record(events_module.LANGUAGE)
        for screen in self.screen_stack[:-1]:  # drawn again when they are next shown
            if isinstance(screen, KioskScreen):
                screen.stale = True
        if isinstance(self.screen, KioskScreen):
            await self.screen.redraw()

    def choose_journey(self, journey: str) -> None:
        self.session.journey = journey
        if journey == "status":
            self.record(events_module.STATUS)
            self.push_screen(ReferenceScreen())
            return
        groups = self.catalogue.groups(journey)
        if len(groups) == 1:
            self.choose_group(next(iter(groups)))
        else:
            self.push_screen(GroupScreen(journey, list(groups)))

    def choose_group(self, group: str) -> None:
        journey = self.session.journey or "report"
        self.push_screen(ServiceScreen(group, self.catalogue.groups(journey).get(group, [])))

    def choose_service(self, code: str) -> None:
        service = self.catalogue.get(code)
        if service is None:
            return
        self.session.choose_service(service)
        self.record(events_module.SERVICE)
        self.show_page(self.session.first_page())

    def page_screen(self, page: str, *, changing: bool = False) -> Screen:
        if page == URGENT:
            return UrgentScreen(self.session.service)
        if page == CONTACT:
            return ContactScreen()
        question = self.session.question(page)
        if question.kind == "location":
            return LocationScreen(question, changing=changing)
        return QuestionScreen(question, changing=changing)

    def show_page(self, page: str | None, *, changing: bool = False) -> None:
        if page is None:
            missing = self.session.missing()
            if missing is not None:  # should not happen: every page was shown
                self.push_screen(self.page_screen(missing, changing=changing))
                return
            self.record(events_module.CHECK)
            self.push_screen(CheckAnswersScreen())
            return
        self.record(events_module.QUESTION, page)
        self.push_screen(self.page_screen(page, changing=changing))

    def advance(self, page: str) -> None:
        self.show_page(self.session.page_after(page))

    def answered(self, key: str, value: Any, *, changing: bool = False) -> None:
        self.session.answer(key, value)
        if not changing:
            self.advance(key)
            return
        missing = self.session.missing()
        if missing is not None:  # the change calls for another answer (texts for a new mobile number)
            self.push_screen(self.page_screen(missing, changing=True))
        else:
            self.call_later(self._safely, self.return_to_check)

    def choose_contact(self, wanted: bool) -> None:
        if wanted:
            self.session.contact_wanted = True
        else:
            self.session.skip_contact()
        self.advance(CONTACT)

    def change(self, key: str) -> None:
        self.push_screen(self.page_screen(key, changing=True))

    async def return_to_check(self) -> None:
        while len(self.screen_stack) > 2 and not isinstance(self.screen, CheckAnswersScreen):
            await self.pop_screen()
        if isinstance(self.screen, CheckAnswersScreen):
            await self.screen.recompose()
            self.screen.query_one("#body").focus()

    def go_back(self) -> None:
        if len(self.screen_stack) > 2:
            self.pop_screen()

    def send(self) -> None:
        """Save the draft, as one submission: raises StoreError (full, busy) with nothing lost."""
        if self._saving:
            return
        session = self.session
        draft = session.draft(self.catalogue.version)
        saved = self.store.enqueue(draft)
        self._saving = True
        self.record(events_module.SUBMITTED)
        try:
            self.store.request("sync_now")
        except StoreError as error:
            log.warning("could not ask the worker to sync now: %s", error)
        log.info("kiosk saved %s (%s, %s)", saved.display_reference, draft.service_code, draft.language)
        receipt = Receipt(saved.display_reference, session.service.journey, session.service.name,
                          texted_to=draft.notify_phone[-3:] if draft.notify_phone else None)
        self.post_message(self.Saved(saved.reference))
        self.call_later(self._safely, self.reset, "saved", keep_language=True, then=ConfirmationScreen(receipt))

    def finish(self) -> None:
        self.call_later(self._safely, self.reset, "finish")

    async def reset(self, reason: str, *, keep_language: bool = False, then: Screen | None = None) -> None:
        """Forget the session, in memory and on screen, and show the start (then `then`)."""
        self.speaker.stop()
        if self.session.started and reason != "saved":
            self.record(events_module.ABANDONED, ABANDON_STEP.get(reason, "restart"))
        if reason == "timeout" and self.volunteer is not None:
            self.sign_out("inactivity")
        self.session.wipe(self.session.language if keep_language else locales.SOURCE_LANGUAGE)
        self._saving = False
        self.warned_at = None
        self.last_input = self.monotonic()
        if not keep_language:
            self.theme = themes.DEFAULT
        self.clear_notifications()
        self._apply_language()
        try:
            self.catalogue = self.store.catalogue()  # a newer council catalogue takes effect between residents
        except Exception as error:
            log.warning("could not reload the catalogue; keeping the one in use: %s", error)
        while len(self.screen_stack) > 2:
            await self.pop_screen()
        await self.switch_screen(LanguageScreen())
        if then is not None:
            await self.push_screen(then)
        self.refresh_connection()
        self.post_message(self.SessionEnded(reason))

    # -----------------------------------------------------------------------------------------
    # Volunteers and staff

    def action_volunteer(self) -> None:
        if self.check_action("volunteer", ()):  # a top-bar tap as well as F9
            self.push_screen(VolunteerMenuScreen() if self.volunteer else VolunteerNameScreen())

    def signed_in(self, volunteer: volunteers.Volunteer) -> None:
        self.volunteer = volunteer
        log.info("volunteer signed in on %s", self.settings.device_id)
        self.call_later(self._safely, self._after_sign_in)

    async def _after_sign_in(self) -> None:
        await self.close_staff_pages()
        self.show_banners()
        if self.session.started and self.needs_consent:
            await self.push_screen(ConsentScreen(self.volunteer.name))

    async def consented(self, consent: str | None) -> None:
        """The resident's answer: None (no help wanted) signs the volunteer out."""
        if isinstance(self.screen, ConsentScreen):
            await self.pop_screen()
        if self.volunteer is None:
            return
        if consent is None:
            self.sign_out("declined")
            return
        self.session.assisted_by = self.volunteer.name
        self.session.assist_consent = consent
        self.record(events_module.ASSISTED)
        self.show_banners()

    def sign_out(self, reason: str) -> None:
        """The volunteer stops helping ("button", "inactivity", "declined"). What the resident
        agreed to stays with the submission: the help already given was given."""
        volunteer, self.volunteer = self.volunteer, None
        if volunteer is not None:
            volunteers.sign_out(self.store, volunteer, reason)
            log.info("volunteer signed out on %s (%s)", self.settings.device_id, reason)
        self.show_banners()

    async def sign_out_by_button(self) -> None:
        self.sign_out("button")
        await self.close_staff_pages()
        self.notify(self.t(N_("You are signed out")), timeout=4)

    def open_dashboard(self) -> None:
        """Between residents only: the dashboard shows other residents' requests."""
        if self.volunteer is None:
            return
        if self.session.started:
            self.notify(self.t(N_("The staff dashboard opens between residents: finish this visit first.")),
                        severity="warning", timeout=6)
            return
        try:
            volunteers.require(self.store, self.volunteer, "dashboard")
        except volunteers.NotAllowed:
            self.call_later(self._safely, self.sign_out_by_button)
            return
        self.switch_screen(DashboardScreen())

    async def back_to_dashboard(self) -> None:
        """After an action on one request: the dashboard again, with fresh figures."""
        if isinstance(self.screen, AttentionScreen):
            await self.pop_screen()
        if isinstance(self.screen, DashboardScreen):
            await self.screen.redraw()

    def leave_for_maintenance(self) -> bool:
        """A supervisor leaves the kiosk (systemd restarts it when maintenance is over). A volunteer
        cannot: refused and audited by `volunteers.maintenance`."""
        if self.volunteer is None:
            return False
        try:
            volunteers.maintenance(self.store, self.volunteer)
        except volunteers.NotAllowed:
            return False
        log.info("kiosk left for maintenance by a supervisor on %s", self.settings.device_id)
        self.speaker.stop()
        self.session.wipe()
        self.exit()
        return True

    async def close_staff_pages(self) -> None:
        while len(self.screen_stack) > 2 and getattr(self.screen, "STAFF", False):
            await self.pop_screen()

    def show_banners(self) -> None:
        for screen in self.screen_stack:
            for banner in screen.query(VolunteerBanner):
                banner.show_current()

    # -----------------------------------------------------------------------------------------
    # Never a traceback on a public screen

    async def run_action(self, action, default_namespace=None, namespaces=None) -> bool:
        try:
            return await super().run_action(action, default_namespace, namespaces)
        except Exception as error:
            self.fail(error)
            return True

    def _handle_exception(self, error: Exception) -> None:
        if not self._kiosk_ready:  # before the first page: a broken install, for the log and systemd
            super()._handle_exception(error)
            return
        self.fail(error)

    async def _safely(self, callback: Callable, *args: Any, **kwargs: Any) -> None:
        try:
            result = callback(*args, **kwargs)
            if asyncio.iscoroutine(result):
                await result
        except Exception as error:
            self.fail(error)

    def fail(self, error: BaseException) -> None:
        log.error("unexpected error on the kiosk; the resident sees the error page and saved requests are "
                  "untouched", exc_info=(type(error), error, error.__traceback__))
        now = self.monotonic()
        self._failures = [moment for moment in self._failures if now - moment < 60] + [now]
        if len(self._failures) > MAX_FAILURES:
            log.critical("%d unexpected errors in a minute: stopping so that a fresh kiosk starts", len(self._failures))
            self.session.wipe()
            self.exit(return_code=1)
            return
        self.call_later(self._safely, self._show_error)

    async def _show_error(self) -> None:
        await self.reset("error", keep_language=True, then=ErrorScreen())
        self.error_at = self.monotonic()
