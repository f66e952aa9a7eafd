"""Volunteers and staff on the kiosk: signing in and out, the resident's consent to being helped,
the staff dashboard (between residents only) and leaving for maintenance (a supervisor only).

Every staff action is checked and audited by `sync.store.volunteers`; the pages themselves are in
kiosk/screens/volunteer.py and kiosk/screens/dashboard.py. Those, and the checks, are imported
when a volunteer first presses F9, not at the kiosk's start: most starts never see them.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from textual import on
from textual.app import App

from kiosk import messages
from kiosk.journey import Journey
from kiosk.navigation import screen_for
from kiosk.widgets.banner import VolunteerBanner
from locales import N_, Translator
from sync.config import Settings
from sync.store import Store

log = logging.getLogger(__name__)


class StaffDesk(App[None]):
    """The part of the kiosk app that serves volunteers and staff."""

    settings: Settings
    store: Store
    journey: Journey

    if TYPE_CHECKING:  # the kiosk app's own
        @property
        def t(self) -> Translator: ...

        def leave(self, return_code: int = 0) -> None: ...

    def action_volunteer(self) -> None:
        if self.check_action("volunteer", ()):  # a top-bar tap as well as F9
            from kiosk.screens.volunteer import VolunteerMenuScreen, VolunteerNameScreen

            self.push_screen(VolunteerMenuScreen() if self.journey.volunteer else VolunteerNameScreen())

    @on(messages.SignedIn)
    @messages.guarded
    async def signed_in(self, message: messages.SignedIn) -> None:
        consent = self.journey.signed_in(message.volunteer)
        await self.close_staff_pages()
        self.show_banners()
        if consent is not None:
            await self.push_screen(screen_for(consent))

    @on(messages.Consented)
    @messages.guarded
    async def consented(self, message: messages.Consented) -> None:
        from kiosk.screens.volunteer import ConsentScreen

        if isinstance(self.screen, ConsentScreen):
            await self.pop_screen()
        self.journey.consented(message.consent)
        self.show_banners()

    def sign_out(self, reason: str) -> None:
        self.journey.sign_out(reason)
        self.show_banners()

    @on(messages.SignOutRequested)
    @messages.guarded
    async def sign_out_by_button(self) -> None:
        self.sign_out("button")
        await self.close_staff_pages()
        self.notify(self.t(N_("You are signed out")), timeout=4)

    @on(messages.DashboardRequested)
    @messages.guarded
    async def open_dashboard(self) -> None:
        """Between residents only: the dashboard shows other residents' requests."""
        from kiosk.screens.dashboard import DashboardScreen
        from sync.store import volunteers

        volunteer = self.journey.volunteer
        if volunteer is None:
            return
        if self.journey.session.started:
            self.notify(self.t(N_("The staff dashboard opens between residents: finish this visit first.")),
                        severity="warning", timeout=6)
            return
        try:
            volunteers.require(self.store, volunteer, "dashboard")
        except volunteers.NotAllowed:
            await self.sign_out_by_button()
            return
        await self.switch_screen(DashboardScreen())

    @on(messages.RequestHandled)
    @messages.guarded
    async def back_to_dashboard(self) -> None:
        """After an action on one request: the dashboard again, with fresh figures."""
        from kiosk.screens.dashboard import AttentionScreen, DashboardScreen

        if isinstance(self.screen, AttentionScreen):
            await self.pop_screen()
        if isinstance(self.screen, DashboardScreen):
            await self.screen.redraw()

    @on(messages.MaintenanceRequested)
    @messages.guarded
    def maintenance_requested(self) -> None:
        if not self.leave_for_maintenance():
            self.notify(self.t(N_("Only a supervisor can leave the kiosk.")), severity="error", timeout=6)

    def leave_for_maintenance(self) -> bool:
        """A supervisor leaves the kiosk (systemd restarts it when maintenance is over). A volunteer
        cannot: refused and audited by `volunteers.maintenance`."""
        from sync.store import volunteers

        volunteer = self.journey.volunteer
        if volunteer is None:
            return False
        try:
            volunteers.maintenance(self.store, volunteer)
        except volunteers.NotAllowed:
            return False
        log.info("kiosk left for maintenance by a supervisor on %s", self.settings.device_id)
        self.leave()
        return True

    async def close_staff_pages(self) -> None:
        from kiosk.screens.volunteer import StaffScreen

        while len(self.screen_stack) > 2 and isinstance(self.screen, StaffScreen):
            await self.pop_screen()

    def show_banners(self) -> None:
        for screen in self.screen_stack:
            for banner in screen.query(VolunteerBanner):
                banner.show_current()
