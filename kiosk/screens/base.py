"""What every kiosk page shares: the frame (top bar, Back link, scrolling body, status line, key
hints), Enter to continue, Escape to go back, number keys for numbered choices, and the text
read-aloud speaks.

Binding descriptions are English message ids, translated when the footer asks for them
(`active_bindings`), so a class built at import still speaks the resident's language.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Awaitable

from textual.binding import ActiveBinding, Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Input

from kiosk import messages
from kiosk.bidi import isolate
from kiosk.context import InApp, kiosk_of
from kiosk.i18n import Speaks
from kiosk.widgets.banner import VolunteerBanner
from kiosk.widgets.choices import NUMBER_KEYS, ChoiceList
from kiosk.widgets.chrome import BackLink, KeyHints, StatusLine, TopBar
from kiosk.widgets.fields import ErrorSummary, FieldError
from kiosk.widgets.text import Button, Static
from locales import N_


def actions(*buttons: Button) -> Horizontal:
    """A page's main buttons in a row of their own, so that a right-to-left page can put them at
    the right (`App.-rtl .actions` in kiosk.tcss): alignment moves a container's children, not a
    lone button."""
    return Horizontal(*buttons, classes="actions")


def translated_bindings(node: InApp, bindings: dict[str, ActiveBinding]) -> dict[str, ActiveBinding]:
    """The bindings with their descriptions in the resident's language (only those the key hints
    show: the hidden ones, such as the number keys, have nothing to say)."""
    t = kiosk_of(node).t
    return {key: active._replace(binding=replace(active.binding, description=t(active.binding.description)))
            if active.binding.show and active.binding.description else active
            for key, active in bindings.items()}


#: Enter continues on every page; shown as "Enter Continue" even where a field takes Enter itself.
CONTINUE = Binding("enter", "continue", N_("Continue"), key_display="Enter", id="kiosk.continue")


class KioskScreen(Speaks, messages.Guarded, Screen):
    BINDINGS = [
        CONTINUE,
        Binding("escape", "back", N_("Back"), key_display="Esc", id="kiosk.back"),
        *(Binding(str(number % 10), f"pick({number})", show=False, id=f"kiosk.pick-{number}")
          for number in range(1, NUMBER_KEYS + 1)),
    ]
    AUTO_FOCUS = None  # each page says where the focus starts
    CAN_GO_BACK = True
    CAN_CONTINUE = True
    #: F9 (a volunteer signing in) may open over this page: not over a staff page (no pages stacked
    #: on staff pages) nor over the resident's consent, which a volunteer's sign-in has just asked.
    OFFERS_VOLUNTEER = True

    def __init__(self, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name, id, classes)
        self.start_with_breakpoints()

    def start_with_breakpoints(self) -> None:
        """Give the page, before it is styled, the breakpoint classes (-narrow, -tall ...) its first
        resize would: Textual adds them at that resize, which restyles a whole page just shown
        (an eighth of the time from Enter to the next page drawn). A page made without an app
        (or a terminal of another size by then) gets them at its resize as before."""
        try:
            app = self.app
        except RuntimeError:  # textual's NoActiveAppError: no app to take the size from
            return
        width, height = app.size
        horizontal = app.HORIZONTAL_BREAKPOINTS if self.HORIZONTAL_BREAKPOINTS is None else self.HORIZONTAL_BREAKPOINTS
        vertical = app.VERTICAL_BREAKPOINTS if self.VERTICAL_BREAKPOINTS is None else self.VERTICAL_BREAKPOINTS
        for dimension, breakpoints in ((width, horizontal), (height, vertical)):
            self.add_class(*self._get_breakpoint_classes(dimension, breakpoints or []), update=False)

    def compose(self):
        yield TopBar(id="top-bar")
        yield VolunteerBanner()
        with VerticalScroll(id="body"):
            if self.CAN_GO_BACK:
                yield BackLink()
            try:
                yield from self.compose_body()
            except Exception as error:  # Textual would exit: the failure guard shows the calm page
                self.post_message(messages.Failed(error))
        yield StatusLine()
        yield KeyHints()

    def compose_body(self):
        yield from ()

    @property
    def council_phone(self) -> str:
        """The council's number as one left-to-right run, whatever the language's direction."""
        return isolate(kiosk_of(self).settings.council.phone, self.t.right_to_left)

    #: The resident changed language while this page was under another: draw it again when shown.
    stale = False
    #: `show_error` has marked the page (a recompose draws it clean).
    error_shown = False

    async def on_screen_resume(self) -> None:
        if self.stale:
            await self.redraw()

    async def redraw(self) -> None:
        """Draw the page again in the resident's new language: what they had typed but not yet
        sent stays in its field, and the focus starts where it did when the page opened."""
        from textual.widgets import TextArea  # here: the kiosk starts without it (kiosk/widgets/description.py)

        typed = {field.id: field.value for field in self.query(Input) if field.id}
        written = {area.id: area.text for area in self.query(TextArea) if area.id}
        self.stale = False
        self.error_shown = False
        await self.recompose()
        for field in self.query(Input):
            if field.id in typed:
                field.value = typed[field.id]
        for area in self.query(TextArea):
            if area.id in written:
                area.text = written[area.id]
        started = self.on_mount()
        if started is not None:
            await started

    def on_mount(self) -> Awaitable[None] | None:
        """Where the focus starts (a page with results to show awaits them)."""
        blink = kiosk_of(self).cursor_blink
        for field in self.query(Input):
            field.cursor_blink = blink  # and the description takes it as it is mounted (kiosk/widgets/description.py)
        return None

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        """Translated, and always with "Enter Continue" where Enter continues, even when the focused
        field handles Enter itself (an input submits, which continues too)."""
        bindings = super().active_bindings
        if self.CAN_CONTINUE and not (bindings.get("enter") and bindings["enter"].binding.show):
            others = {key: binding for key, binding in bindings.items() if key != "enter"}
            bindings = {"enter": ActiveBinding(self, CONTINUE, True), **others}
        return translated_bindings(self, bindings)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back":
            return self.CAN_GO_BACK
        if action == "continue":
            return self.CAN_CONTINUE
        return True

    # -----------------------------------------------------------------------------------------

    def action_back(self) -> None:
        self.post_message(messages.BackRequested())

    def action_continue(self) -> None:
        """Subclasses: check the answer and move on."""

    def action_pick(self, number: int) -> None:
        choices = self.choice_list()
        if choices is not None:
            choices.pick_number(number)

    def choice_list(self) -> ChoiceList | None:
        found = self.query(ChoiceList)
        return found.first() if found else None

    def heading_text(self) -> str:
        found = self.query(".heading")
        return str(found.first(Static).content) if found else ""

    def spoken_text(self) -> str:
        """What read-aloud says: the error first, then the page's words and choices, in order."""
        from textual.widgets import TextArea  # here: the kiosk starts without it (kiosk/widgets/description.py)

        parts: list[str] = []
        for widget in self.query(".speak, ChoiceList, ErrorSummary, Input, TextArea"):
            if not widget.display or (widget.parent is not None and not widget.parent.display):
                continue
            if isinstance(widget, ErrorSummary):
                parts.extend([self._("There is a problem"), *widget.messages])
            elif isinstance(widget, ChoiceList):
                parts.append(widget.spoken())
            elif isinstance(widget, Input):
                parts.append(widget.value)
            elif isinstance(widget, TextArea):
                parts.append(widget.text)
            else:
                parts.append(str(getattr(widget, "content", "")))
        return "\n".join(part for part in parts if part.strip())

    def show_error(self, message: str, field) -> None:
        """GOV.UK's pattern: the summary at the top (it takes the focus), the message by the field,
        the field marked, and the title prefixed "Error:"."""
        self.field_error(field).show(message)
        self.query_one(ErrorSummary).show([message], field)
        for widget in self.query(".answer-field"):
            widget.add_class("-error")
        self.title = self._("Error:") + " " + self.heading_text()
        self.error_shown = True

    def field_error(self, field) -> FieldError:
        """Where the message about `field` goes: the page's one (a page with two fields has one each)."""
        return self.query_one(FieldError)

    def clear_error(self) -> None:
        """After a right answer: nothing to do (on the way to the next page) unless an error shows."""
        if not self.error_shown:
            return
        self.error_shown = False
        for error in self.query(FieldError):
            error.clear()
        self.query_one(ErrorSummary).clear()
        for widget in self.query(".answer-field"):
            widget.remove_class("-error")
        self.title = self.heading_text()

    def focus_field(self, field) -> None:
        if isinstance(field, ChoiceList):
            field.focus_first()
        elif field is not None:
            field.focus()

    def focus_choices(self, otherwise: str) -> None:
        """The first choice has the focus, or `otherwise` (a selector) on a page with none."""
        found = self.query(ChoiceList)
        if found:
            found.first().focus_first()
        else:
            self.query_one(otherwise).focus()

    def reset_status(self) -> None:
        for line in self.query(StatusLine):
            line.connection = kiosk_of(self).connection


class OneFieldScreen(KioskScreen):
    """A page with one text field (`FIELD`, which starts with the focus) and a Continue button:
    Enter in the field and the button both continue."""

    FIELD = "#answer"

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one(self.FIELD).focus()

    @messages.guarded
    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_continue()

    @messages.guarded
    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "continue":
            event.stop()
            self.action_continue()


class OneButtonScreen(KioskScreen):
    """A page whose one button, `#continue`, starts with the focus and does what Enter does."""

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#continue").focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "continue":
            event.stop()
            self.action_continue()


class LastPage(KioskScreen):
    """The page a visit ends on: its Finish button forgets the visit, ready for the next resident."""

    def finish_button(self) -> Horizontal:
        return actions(Button(Content(self._("Finish")), id="finish", classes="continue"))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "finish":
            event.stop()
            self.post_message(messages.StartAgain())
