"""One resident's visit as plain Python: for each thing they do, which page comes next.

The app hands every page's message to a method here and shows the page it returns
(`kiosk/pages.py`); nothing here knows about Textual, so the rules are tested without a terminal.
The journey holds the `Session` (in memory only), the catalogue in use and the volunteer signed
in, records the take-up events of the visit (never anything typed) and saves the finished draft
through `Store.enqueue`.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import TYPE_CHECKING

import locales
from kiosk import pages
from kiosk.i18n import LOCAL_TIME
from kiosk.session import CONTACT, URGENT, Session
from sync.printing.slip import street_of
from sync.store import Store, events
from sync.store.db import StoreError

if TYPE_CHECKING:  # volunteers (and argon2) load with the first sign-in, not at every start
    from sync.store import volunteers

log = logging.getLogger(__name__)

#: Why a visit ended without a submission, as the take-up report counts it.
ABANDON_STEP = {"timeout": "timeout", "error": "error", "finish": "restart", "stopped": "stopped"}


class Journey:
    def __init__(self, store: Store, device_id: str = "kiosk") -> None:
        self.store = store
        self.device_id = device_id
        self.session = Session()
        self.catalogue = store.catalogue()
        #: The volunteer or supervisor signed in at this kiosk, if any (sync/store/volunteers.py).
        self.volunteer: volunteers.Volunteer | None = None
        #: Set once the draft is saved, so that a second tap on Send saves nothing more.
        self.saved = False

    def record(self, event: str, step: str | None = None) -> None:
        """One take-up event for this visit: never anything the resident typed."""
        session = self.session
        events.record(self.store, session.id, event, channel="kiosk", language=session.language,
                      service_code=session.service.code if session.service else None, step=step,
                      assisted=session.assisted)

    def today(self) -> date:
        """The library's date, by the store's clock (tests move it)."""
        return self.store.clock().astimezone(LOCAL_TIME).date()

    @property
    def active(self) -> bool:
        """Whether there is anything to protect: anything chosen, another language, or a volunteer
        signed in (an unattended kiosk must not stay signed in)."""
        return (not self.session.pristine or self.session.language != locales.SOURCE_LANGUAGE
                or self.volunteer is not None)

    # -----------------------------------------------------------------------------------------
    # Language, task, group, service

    def language_chosen(self, code: str) -> list[pages.Page]:
        """The first page's choice: the visit starts (or goes on in another language)."""
        self.session.language = code
        if not self.session.started:
            self.session.started = True
            self.record(events.STARTED)
        else:  # back to the first page, where the next resident begins: the take-up report counts
            self.record(events.LANGUAGE)  # what follows as another visit if it only checks a request
        consent = self.consent_page()
        return [pages.Welcome()] if consent is None else [pages.Welcome(), consent]

    def language_switched(self, code: str) -> bool:
        """Mid-visit: whether the language changed (the pages are then drawn again)."""
        if code == self.session.language:
            return False
        self.session.language = code
        if self.session.started:
            self.record(events.LANGUAGE)
        return True

    def welcome_read(self) -> pages.Page:
        return pages.Tasks()

    def task_chosen(self, task: str) -> pages.Page:
        self.session.journey = task
        if task == "status":
            self.record(events.STATUS)
            return pages.Reference()
        groups = self.catalogue.groups(task)
        if len(groups) == 1:
            return self.group_chosen(next(iter(groups)))
        return pages.Groups(task, tuple(groups))

    def group_chosen(self, group: str) -> pages.Page:
        journey = self.session.journey or "report"
        return pages.Services(group, tuple(self.catalogue.groups(journey).get(group, [])))

    def service_chosen(self, code: str) -> pages.Page | None:
        """The service's first page; None for a code the catalogue no longer has (stay put)."""
        service = self.catalogue.get(code)
        if service is None:
            return None
        self.session.choose_service(service)
        self.record(events.SERVICE)
        return self.page(self.session.first_page())

    # -----------------------------------------------------------------------------------------
    # Questions, contact, check

    def page(self, key: str | None, *, changing: bool = False) -> pages.Page:
        """The page for `key`, recorded as reached; None is the check page (or, should a question
        have been skipped, that question)."""
        if key is None:
            missing = self.session.missing()
            if missing is not None:  # should not happen: every page was shown
                return self.page_for(missing, changing=changing)
            self.record(events.CHECK)
            return pages.Check()
        self.record(events.QUESTION, key)
        return self.page_for(key, changing=changing)

    def page_for(self, key: str, *, changing: bool = False) -> pages.Page:
        if key == URGENT:
            assert self.session.service is not None
            return pages.Urgent(self.session.service)
        if key == CONTACT:
            return pages.Contact()
        return pages.Question(self.session.question(key), changing)

    def notice_read(self, key: str) -> pages.Page:
        return self.page(self.session.page_after(key))

    def answered(self, key: str, value: object, *, changing: bool = False) -> pages.Page:
        """The next page; after a change, back to the check page unless the change calls for
        another answer (texts for a new mobile number)."""
        self.session.answer(key, value)
        if not changing:
            return self.page(self.session.page_after(key))
        missing = self.session.missing()
        if missing is not None:
            return self.page_for(missing, changing=True)
        return pages.BackToCheck()

    def contact_chosen(self, wanted: bool) -> pages.Page:
        if wanted:
            self.session.contact_wanted = True
        else:
            self.session.skip_contact()
        return self.page(self.session.page_after(CONTACT))

    def change_requested(self, key: str) -> pages.Page:
        return self.page_for(key, changing=True)

    def send(self) -> tuple[str, pages.Confirmation] | None:
        """Save the draft as one submission: (its canonical reference, the confirmation page), or
        None when it was already saved (a second tap on Send). Raises StoreError (full, busy) with nothing lost."""
        session = self.session
        if self.saved or session.service is None:
            return None
        draft = session.draft(self.catalogue.version)
        saved = self.store.enqueue(draft)
        self.saved = True
        self.record(events.SUBMITTED)
        try:
            self.store.request("sync_now")
        except StoreError as error:
            log.warning("could not ask the worker to sync now: %s", error)
        log.info("kiosk saved %s (%s, %s)", saved.display_reference, draft.service_code, draft.language)
        receipt = pages.Receipt(saved.display_reference, session.service.journey, session.service.name,
                                texted_to=draft.notify_phone[-3:] if draft.notify_phone else None,
                                street=street_of(draft.location))
        return saved.reference, pages.Confirmation(receipt)

    def end(self, reason: str, *, keep_language: bool = False) -> None:
        """Forget the visit ("finish", "timeout", "error", "saved"); a timeout signs the volunteer
        out too. A newer council catalogue takes effect here, between residents."""
        if self.session.started and reason != "saved":
            self.record(events.ABANDONED, ABANDON_STEP.get(reason, "restart"))
        if reason == "timeout" and self.volunteer is not None:
            self.sign_out("inactivity")
        self.session.wipe(self.session.language if keep_language else locales.SOURCE_LANGUAGE)
        self.saved = False
        try:
            self.catalogue = self.store.catalogue()
        except Exception as error:
            log.warning("could not reload the catalogue; keeping the one in use: %s", error)

    # -----------------------------------------------------------------------------------------
    # A volunteer helping

    def consent_page(self) -> pages.Consent | None:
        """The resident is asked whether they want help from a volunteer they have not agreed to
        (a second volunteer who takes over needs the resident's agreement too)."""
        if self.volunteer is None or self.session.assisted_by == self.volunteer.name:
            return None
        return pages.Consent(self.volunteer.name)

    def signed_in(self, volunteer: volunteers.Volunteer) -> pages.Consent | None:
        """A volunteer signed in: the consent page, when a visit is under way."""
        self.volunteer = volunteer
        log.info("volunteer signed in on %s", self.device_id)
        return self.consent_page() if self.session.started else None

    def consented(self, consent: str | None) -> None:
        """The resident's answer: None (no help wanted) signs the volunteer out."""
        if self.volunteer is None:
            return
        if consent is None:
            self.sign_out("declined")
            return
        self.session.assisted_by = self.volunteer.name
        self.session.assist_consent = consent
        self.record(events.ASSISTED)

    def sign_out(self, reason: str) -> None:
        """The volunteer stops helping ("button", "inactivity", "declined"). What the resident
        agreed to stays with the submission: the help already given was given."""
        volunteer, self.volunteer = self.volunteer, None
        if volunteer is not None:
            from sync.store import volunteers

            volunteers.sign_out(self.store, volunteer, reason)
            log.info("volunteer signed out on %s (%s)", self.device_id, reason)
