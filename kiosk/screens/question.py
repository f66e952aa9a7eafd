"""One question per page, straight from the shared question flow: the question as the heading, its
hint, the field, Continue. Answers are checked on Continue only (never on leaving a field): an
error summary at the top takes the focus, the message sits beside the field, what was typed stays.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from textual.content import Content
from textual.widgets import Input

from kiosk import messages, wording
from kiosk.context import kiosk_of
from kiosk.screens.base import KioskScreen, actions
from kiosk.widgets.choices import Choice, ChoiceList
from kiosk.widgets.description import DescriptionArea
from kiosk.widgets.fields import ErrorSummary, FieldError
from kiosk.widgets.text import Button, Static
from locales import N_
from sync import flow
from sync.catalogue import Service
from sync.flow import Invalid, Question

#: Questions whose prompt already says "(optional)" in every language.
SAYS_OPTIONAL = set(flow.CONTACT_KEYS)


def heading_for(question: Question, translate, council: str = "") -> str:
    heading = wording.prompt(question, translate, council)
    if not question.required and question.key not in SAYS_OPTIONAL and question.kind != "location":
        optional = translate(N_("(optional)"))
        heading = f"{heading} {optional}"
    return heading


def typed_form(question: Question, value: Any) -> str:
    """An answer already given, as the resident would type it again."""
    if value in (None, ""):
        return ""
    if question.kind == "datetime":
        return date.fromisoformat(value).strftime("%d/%m/%Y")
    if question.kind == "phone":
        import phonenumbers  # here, not at the top: most visits give no phone number, and a start need not pay for it

        try:
            return phonenumbers.format_number(phonenumbers.parse(value, "GB"),
                                              phonenumbers.PhoneNumberFormat.NATIONAL)
        except phonenumbers.NumberParseException:
            return str(value)
    return str(value)


class AnswerScreen(KioskScreen):
    """What every question page does on Continue: validate, show errors, hand the answer up."""

    def __init__(self, question: Question, *, changing: bool = False) -> None:
        super().__init__()
        self.question = question
        self.changing = changing

    @property
    def answers(self) -> dict[str, Any]:
        """What the resident has answered so far (this question's answer is shown again)."""
        return kiosk_of(self).journey.session.answers

    @property
    def service(self) -> Service:
        service = kiosk_of(self).journey.session.service
        assert service is not None
        return service

    def caption(self) -> Static:
        return Static(self._(self.service.name), classes="caption speak", markup=False)

    def accept(self, raw: Any, field) -> None:
        try:
            value = flow.validate(self.question, raw, translate=self.t.gettext, today=kiosk_of(self).journey.today())
        except Invalid as error:
            message = wording.error_message(self.question, error.message)
            self.show_error(error.render(self.t) if message == error.message else self._(message), field)
            return
        self.clear_error()
        self.post_message(messages.Answered(self.question.key, value, self.changing))

    @messages.guarded
    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "continue":
            event.stop()
            self.action_continue()


class QuestionScreen(AnswerScreen):
    def compose_body(self):
        question = self.question
        answer = self.answers.get(question.key)
        yield ErrorSummary()
        yield self.caption()
        council = kiosk_of(self).settings.council.name
        heading = heading_for(question, self._, council)
        self.title = heading
        yield Static(heading, classes="heading speak", markup=False)
        hint = wording.hint(question, self._, council, self.answers)
        if hint:
            yield Static(hint, classes="hint speak", markup=False)
        yield FieldError()
        if question.kind in ("singlevaluelist", "yesno", "multivaluelist"):
            mode = "multiple" if question.kind == "multivaluelist" else "single"
            chosen = answer if isinstance(answer, list) else ([answer] if answer else [])
            yield ChoiceList([Choice(choice.key, self._(choice.label)) for choice in question.choices], mode,
                             selected=chosen, id="answer", classes="answer-field")
        elif question.kind == "text":
            yield DescriptionArea(answer or "", id="answer").add_class("answer-field")
        else:
            yield Input(typed_form(question, answer), id="answer", classes="answer-field",
                        select_on_focus=False)
        yield actions(Button(Content(self._("Continue")), id="continue", classes="continue"))

    def on_mount(self) -> None:
        super().on_mount()
        self.focus_field(self.field)

    @property
    def field(self):
        return self.query_one("#answer")

    def raw_answer(self) -> Any:
        field = self.field
        if isinstance(field, ChoiceList):
            numbers = [str(index) for index, choice in enumerate(field.choices, 1) if choice.key in field.selected]
            if field.mode == "multiple":
                return numbers
            return numbers[0] if numbers else ""
        if isinstance(field, DescriptionArea):
            return field.text
        return field.value

    def action_continue(self) -> None:
        self.accept(self.raw_answer(), self.field)

    @messages.guarded
    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_continue()

    @messages.guarded
    def on_description_area_submitted(self, event: DescriptionArea.Submitted) -> None:
        event.stop()
        self.action_continue()

    @messages.guarded
    def on_choice_list_submitted(self, event: ChoiceList.Submitted) -> None:
        event.stop()
        self.action_continue()
