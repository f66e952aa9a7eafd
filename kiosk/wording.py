"""The kiosk's own words where the shared question flow's would leave a resident unsure.

* An unanswered choice says what to choose, as GOV.UK's error messages do ("Select which bin was
  not emptied"), not the flow's generic "Choose an answer". Keyed by the question's prompt (a
  message id of the bundled catalogue or of the flow); a council's own question keeps the
  generic message until a line is added here.
* The consent question names who is asking and who gets the details (this kiosk, the council),
  and what becomes of a number given for texts if the resident says no.
"""

from __future__ import annotations

from locales import N_
from sync import flow
from sync.flow import Question

#: The flow's generic messages for a choice left unanswered.
GENERIC = {"Choose an answer", "Choose at least one option"}

SELECT = {
    "Which bin was not emptied?": N_("Select which bin was not emptied"),
    "What do you need collected?": N_("Select what you need collected"),
    "How big is it?": N_("Select how big it is"),
    "Where on the street is it?": N_("Select where on the street it is"),
    "What is wrong with the light?": N_("Select what is wrong with the light"),
    "What has been dumped?": N_("Select what has been dumped"),
    "How much is there?": N_("Select how much there is"),
    "Is it offensive or racist?": N_("Select yes if it is offensive or racist"),
    "Is this a regular problem here?": N_("Select yes if this is a regular problem here"),
    "How long has it been there?": N_("Select how long it has been there"),
    "What is wrong with the bin?": N_("Select what is wrong with the bin"),
    "Is there any flooding?": N_("Select whether there is any flooding"),
    "What kind of animal is it?": N_("Select what kind of animal it is"),
    flow.UPDATES.prompt: N_("Select yes if you would like text messages when this is updated"),
    flow.CONSENT.prompt: N_("Select yes if this kiosk can pass your contact details on to the council"),
}

CONSENT_PROMPT = N_("Can this kiosk pass your contact details on to {council}?")
CONSENT_HINT = N_("{council} will use them only to deal with this request. If you say no, they are not passed on "
                  "or kept.")
CONSENT_HINT_TEXTS = N_("{council} will use them only to deal with this request. If you say no, they are not "
                        "passed on, and your phone number is kept only to send the texts you asked for.")


def error_message(question: Question, message: str) -> str:
    """The message id to show for `message` (the flow's) about `question`."""
    if message in GENERIC:
        return SELECT.get(question.prompt, message)
    return message


def prompt(question: Question, translate, council: str) -> str:
    """The question as the kiosk asks it (and labels it on check your answers)."""
    if question.key == flow.CONSENT.key:
        return translate(CONSENT_PROMPT).format(council=council)
    return translate(question.prompt)


def hint(question: Question, translate, council: str, answers: dict) -> str:
    if question.key == flow.CONSENT.key:
        texts = answers.get(flow.UPDATES.key) == "yes"
        return translate(CONSENT_HINT_TEXTS if texts else CONSENT_HINT).format(council=council)
    return translate(question.hint) if question.hint else ""
