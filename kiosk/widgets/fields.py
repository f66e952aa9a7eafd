"""Answer fields and their errors, in GOV.UK's pattern: validation happens on Continue, an error
summary at the top of the page takes the focus, the message sits beside the field, and what was
typed is kept."""

from __future__ import annotations

from textual import events
from textual.containers import Vertical
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Input

from kiosk.bidi import display_line, paragraph_direction, right_aligned
from kiosk.i18n import Speaks
from kiosk.messages import Guarded
from kiosk.widgets.text import Static


class ErrorSummary(Speaks, Guarded, Vertical, can_focus=True):
    """"There is a problem", and what it is. Activating it (Enter, a tap) goes to the field; typing
    while it has the focus goes straight into the field, so nobody has to find their way back."""

    ALLOW_SELECT = False

    def __init__(self) -> None:
        super().__init__(id="error-summary")
        self.display = False
        self.messages: list[str] = []
        self.field: Widget | None = None

    def compose(self):
        yield Static("", classes="title", markup=False)
        yield Static("", classes="messages", markup=False)

    def show(self, messages: list[str], field: Widget | None) -> None:
        self.messages = messages
        self.field = field
        self.query_one(".title", Static).update(self._("There is a problem"))
        self.query_one(".messages", Static).update("\n".join(messages))
        self.display = True
        self.focus()
        self.screen.scroll_home(animate=False)
        if self.parent is not None and hasattr(self.parent, "scroll_home"):
            self.parent.scroll_home(animate=False)

    def clear(self) -> None:
        self.messages = []
        self.display = False

    def go_to_field(self) -> None:
        if self.field is not None:
            focusable = self.field
            if hasattr(focusable, "focus_first"):
                focusable.focus_first()
            else:
                focusable.focus()

    def on_click(self, event: events.Click) -> None:
        event.stop()
        self.go_to_field()

    def on_key(self, event: events.Key) -> None:
        # Here, not at the top: the kiosk starts without Textual's TextArea, which its first page
        # does not use (kiosk/widgets/description.py).
        from textual.widgets import TextArea

        if event.key == "enter":
            event.stop()
            event.prevent_default()
            self.go_to_field()
        elif event.is_printable and isinstance(self.field, (Input, TextArea)) and event.character:
            event.stop()
            event.prevent_default()
            self.go_to_field()
            if isinstance(self.field, Input):
                self.field.insert_text_at_cursor(event.character)
            else:
                self.field.insert(event.character)


class FieldError(Static):
    """The message beside the field."""

    def __init__(self) -> None:
        super().__init__("", markup=False, classes="field-error")
        self.display = False

    def show(self, message: str) -> None:
        self.update(message)
        self.display = True

    def clear(self) -> None:
        self.update("")
        self.display = False


class Field(Input):
    """A one-line text field whose placeholder, on a right-to-left page, is drawn as the page's
    other words are (kiosk/bidi.py): shaped, in display order and against the right edge. What the
    resident types is left as it is: editing is not bidi-aware (docs/kiosk.md), and a field that
    reordered its text under the cursor would put the cursor in the wrong place."""

    def render_line(self, y: int) -> Strip:
        strip = super().render_line(y)
        direction = paragraph_direction(self.app)
        if self.value or direction != "R":
            return strip
        # Textual draws the line a cell wider than the field (room for a cursor after the text).
        shown = strip.crop(0, self.scrollable_content_region.width)
        return display_line(right_aligned(shown), direction)
