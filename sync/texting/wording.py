"""The words of the texts the worker sends a resident: their reference, and each council update.

Kept apart from the queue so the wording can be read, translated and tested for its segment
budget on its own (tests/sms/test_sms_budgets.py tries every language with `LONGEST`).
"""

from __future__ import annotations

from typing import Callable

from locales import N_
from sync.texting.segments import budget, fit

#: A translator: the English message in, the resident's language out (locales.Translator).
Translate = Callable[[str], str]

#: Council statuses (Open311, FixMyStreet) as a resident reads them, after "is now:".
STATUS_LABELS = {
    "open": N_("open"),
    "in_progress": N_("in progress"),
    "planned": N_("planned"),
    "for_triage": N_("waiting to be looked at"),
    "reopen": N_("opened again"),
    "investigating": N_("being looked into"),
    "action_scheduled": N_("scheduled for work"),
    "closed": N_("closed"),
    "fixed": N_("fixed"),
    "duplicate": N_("closed: it was already reported"),
    "not_councils_responsibility": N_("passed on: it is not the council's responsibility"),
    "no_further_action": N_("closed with no further action"),
    "cancelled": N_("cancelled"),
    "internal_referral": N_("passed to another council team"),
    "unable_to_fix": N_("closed: it could not be fixed"),
    "queued": N_("waiting to be sent to the council"),
    "sending": N_("being sent to the council"),
    "awaiting_id": N_("sent to the council"),
    "accepted": N_("with the council"),
    "needs_attention": N_("being checked by staff"),
    "exported": N_("sent to the council by another route"),
}

STATUS_TEXT = N_("{council}: your request {reference} ({service}) is now: {status}.")
STATUS_NOTE = N_("{text}\nThe council says: {notes}")
REFERENCE_TEXT = N_("{council}: thank you for your request ({service}). Your reference is {reference}. "
                    "We will text you when it is updated.")
STOP_LINE = N_("{text} Reply STOP to stop these texts.")
#: The longest values the status and reference texts are tested with (tests/sms).
LONGEST = {"council": "Rhondda Cynon Taf County Borough Council", "reference": "K7Q-4MB-XP9P",
           "service": "Passed to another council team for action", "notes": "x" * 1000}


def status_label(status: str, t: Translate) -> str:
    label = STATUS_LABELS.get(status)
    return t(label) if label else status.replace("_", " ")


def status_text(t: Translate, *, council: str, reference: str, service: str, status: str, notes: str | None,
                language: str) -> str:
    """A status update within the language's budget: the council's note, then the service
    name, then the council's name are shortened as needed (in that order)."""
    def build(values: dict[str, str]) -> str:
        text = t(STATUS_TEXT).format(council=values["council"], reference=values["reference"],
                                     service=values["service"], status=values["status"])
        if values.get("notes"):
            text = t(STATUS_NOTE).format(text=text, notes=values["notes"])
        return text

    return fit(build, {"council": council, "reference": reference, "service": service,
                       "status": status_label(status, t), "notes": " ".join((notes or "").split())},
               ("notes", "service", "council"), budget(language))


def reference_text(t: Translate, *, council: str, reference: str, service: str, language: str,
                   stop_line: bool) -> str:
    """A resident's reference, with the STOP line where the provider honours STOP (Twilio)."""
    def build(values: dict[str, str]) -> str:
        text = t(REFERENCE_TEXT).format(council=values["council"], reference=values["reference"],
                                        service=values["service"])
        return t(STOP_LINE).format(text=text) if stop_line else text

    return fit(build, {"council": council, "reference": reference, "service": service},
               ("service", "council"), budget(language))
