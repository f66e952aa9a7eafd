"""The question flow: one pure description of what to ask a resident, in what order, shared by the
kiosk, the SMS bot and the paper-form importer.

A service becomes a list of questions: where (a gazetteer address, coordinates, or the place in
words), the service's attributes in the council's order, a description, then optional contact
details, text-message updates and consent. `next_question` says what to ask given the answers so
far (answers already known, such as an SMS sender's number, are never asked again); `validate`
(answers.py) checks each answer, and `to_draft` makes the submission of them. Nothing here does
I/O, and nothing here knows about screens.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from locales import N_, Translator
from sync.answers import (
    DESCRIPTION_MAX,
    NAME_MAX,
    STRING_MAX,
    Choice,
    Invalid,
    Question,
    clean_text,
    phone_number,
    validate,
)
from sync.catalogue import Service
from sync.phones import is_mobile

__all__ = ["CONSENT", "CONTACT_KEYS", "DESCRIPTION_MAX", "EMAIL", "LOCATION", "NAME", "PHONE", "STRING_MAX",
           "UPDATES", "YES_NO", "Choice", "Draft", "Invalid", "Question", "clean_text", "display", "next_question",
           "phone_number", "questions", "to_draft", "validate"]

YES_NO = (Choice("yes", N_("Yes")), Choice("no", N_("No")))

LOCATION = Question("location", "location", N_("Where is it?"),
                    N_("Search for an address by postcode or street, or describe the place in words."), required=True)
NAME = Question("name", "string", N_("What is your name? (optional)"), max_length=NAME_MAX)
PHONE = Question("phone", "phone", N_("What is your phone number? (optional)"),
                 N_("We will only use it to contact you about this request."))
EMAIL = Question("email", "email", N_("What is your email address? (optional)"),
                 N_("We will only use it to tell you when the request is updated."))
UPDATES = Question("updates_by_text", "yesno", N_("Would you like text messages when this is updated?"),
                   N_("We will text your reference now, and again when the council updates it. "
                      "Reply STOP at any time."), required=True, choices=YES_NO)
CONSENT = Question("consent", "yesno", N_("Can we give your contact details to the council?"),
                   N_("They will use them only to deal with this request. If you say no, we will not keep them."),
                   required=True, choices=YES_NO)
CONTACT_KEYS = ("name", "phone", "email")


def questions(service: Service, answers: Mapping[str, Any] | None = None) -> list[Question]:
    """Every question for `service`, in order, including the conditional ones `answers` call for."""
    answers = answers or {}
    asked = [*_service_questions(service), NAME, PHONE, EMAIL]
    if answers.get("phone") and is_mobile(answers["phone"]):  # texts for mobiles only: not 070, not 076
        asked.append(UPDATES)
    if any(answers.get(key) for key in CONTACT_KEYS):
        asked.append(CONSENT)
    return asked


#: Each service's own questions by the service's id(), kept with the service (so that the id
#: cannot be reused while here). A catalogue is a few dozen services, and a new one comes a
#: few times a day at most; the bound only keeps a long-running process from gathering old ones.
_ASKED: dict[int, tuple[Service, tuple[Question, ...]]] = {}
_ASKED_LIMIT = 512


def _service_questions(service: Service) -> tuple[Question, ...]:
    """Where it is, the service's variable attributes, and the description: worked out once per
    service, as the SMS bot asks for them several times a message."""
    found = _ASKED.get(id(service))
    if found is not None and found[0] is service:
        return found[1]
    asked = [LOCATION]
    for attribute in service.questions:
        if not attribute.variable:
            continue
        asked.append(Question(
            key=f"attribute.{attribute.code}", kind=attribute.datatype, prompt=attribute.description,
            hint=attribute.hint, required=attribute.required,
            choices=tuple(Choice(value.key, value.name) for value in attribute.values),
            max_length=attribute.max_length or (DESCRIPTION_MAX if attribute.datatype == "text" else STRING_MAX),
        ))
    asked.append(Question("description", "text", service.description_prompt or N_("Describe the problem"),
                          service.description_hint or N_("Anything that will help the council find and fix it."),
                          max_length=DESCRIPTION_MAX))
    if len(_ASKED) >= _ASKED_LIMIT:
        _ASKED.clear()
    _ASKED[id(service)] = (service, tuple(asked))
    return tuple(asked)


def next_question(service: Service, answers: Mapping[str, Any]) -> Question | None:
    """The first question not yet answered, or None when everything needed is known."""
    return next((question for question in questions(service, answers) if question.key not in answers), None)

# ---------------------------------------------------------------------------------------------
# Reading answers back


def display(question: Question, value: Any, translator: Translator) -> str:
    """An answer as a resident should read it back, in their language."""
    if value in (None, "", []):
        return translator.gettext(N_("Not provided"))
    labels = {choice.key: choice.label for choice in question.choices}
    if question.kind == "multivaluelist":
        return ", ".join(translator.gettext(labels.get(key, key)) for key in value)
    if question.kind in ("singlevaluelist", "yesno"):
        return translator.gettext(labels.get(value, value))
    if question.kind == "location":
        if "address_string" in value:
            return str(value["address_string"])
        return f"{value['lat']:.5f}, {value['long']:.5f}"
    if question.kind == "number":
        return translator.number(value)
    if question.kind == "datetime":
        return translator.date(date.fromisoformat(value))
    return str(value)


# ---------------------------------------------------------------------------------------------
# The finished submission

@dataclass(frozen=True)
class Draft:
    """A complete submission as a channel hands it to the store, in Open311's terms."""

    service_code: str
    channel: str
    language: str
    catalogue_version: str
    location: dict[str, Any]
    attributes: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    contact: dict[str, str] | None = None  # name, phone, email: only with the resident's consent
    notify_phone: str | None = None  # E.164; the resident asked for texts about this request
    idempotency_key: str = ""
    #: A volunteer's help, None when the resident was not helped: who helped (their name, kept on
    #: this kiosk) and what the resident agreed to ("resident_types" or "volunteer_types").
    assisted_by: str | None = None
    assist_consent: str | None = None


def to_draft(service: Service, answers: Mapping[str, Any], *, channel: str, language: str,
             catalogue_version: str, idempotency_key: str = "") -> Draft:
    """The submission the answers make. Contact details travel only with consent; a number the
    resident asked to be texted on is kept for that alone, whatever they said about sharing."""
    missing = next_question(service, answers)
    if missing is not None:
        raise ValueError(f"question {missing.key!r} has not been answered")
    attributes = {question.attribute_code: answers[question.key] for question in questions(service, answers)
                  if question.attribute_code and answers.get(question.key) not in (None, [])}
    contact = {key: answers[key] for key in CONTACT_KEYS if answers.get(key)}
    return Draft(
        service_code=service.code, channel=channel, language=language, catalogue_version=catalogue_version,
        location=dict(answers["location"]), attributes=attributes, description=answers.get("description") or "",
        contact=contact if contact and answers.get("consent") == "yes" else None,
        notify_phone=answers["phone"] if answers.get("updates_by_text") == "yes" else None,
        idempotency_key=idempotency_key,
    )
