"""Numbered choices: big targets a resident can tap, click, reach with the arrow keys, or pick with
the number printed beside them.

One widget serves three uses:

* ``menu``: each choice takes the resident somewhere (languages, services); picking it is enough;
* ``single``: one answer to a question (radios); picking selects it, so do the arrow keys (as
  radios do in a browser), and Enter continues: it never answers for the resident;
* ``multiple``: any number of answers (checkboxes); picking toggles, Enter continues.

Choice labels come from the catalogue or the council and are always drawn as plain text. The list
reports what happened as messages (`Picked`, `Changed`, `Submitted`); the screen decides what to
do with them. On a right-to-left page the badge stands at the right and the words end against it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Literal

from rich.table import Table
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

from kiosk.bidi import display_line, paragraph_direction
from kiosk.messages import Guarded

Mode = Literal["menu", "single", "multiple"]
#: Number keys pick the first ten choices (1 to 9, then 0, as along a keyboard's top row); later
#: ones are reached by arrows, Tab or touch.
NUMBER_KEYS = 10
#: Cells the number badge takes, and the gap between it and the words.
BADGE, GAP = 4, 1


@dataclass(frozen=True)
class Choice:
    key: str
    label: str  # already translated: plain text
    description: str = ""


def key_for(number: int) -> str | None:
    """The number key that picks the `number`th choice: "0" for the tenth, None past it."""
    return str(number % 10) if 1 <= number <= NUMBER_KEYS else None


def number_keys(count: int) -> str:
    """The keys that pick from a list of `count` choices, for the key hints ("1-9, 0")."""
    if count >= NUMBER_KEYS:
        return "1-9, 0"
    return "1" if count <= 1 else f"1-{count}"


class ChoiceItem(Guarded, Widget, can_focus=True):
    """One numbered choice, drawn as one widget: the number in a badge, then the radio or checkbox
    mark, the label and, underneath, the description, wrapped beside the badge."""

    DEFAULT_CSS = """
    ChoiceItem { height: auto; }
    """
    ALLOW_SELECT = False
    COMPONENT_CLASSES = {"choice--number", "choice--description"}
    BINDINGS = [
        Binding("up", "move(-1)", show=False, id="choices.up"),
        Binding("down", "move(1)", show=False, id="choices.down"),
        Binding("space", "pick_this", show=False, id="choices.toggle"),
        Binding("enter", "activate", show=False, id="choices.activate"),
    ]

    selected: reactive[bool] = reactive(False)

    def __init__(self, number: int, choice: Choice, mode: Mode, *, selected: bool = False) -> None:
        super().__init__(classes=f"-{mode}")
        self.number = number
        self.choice = choice
        self.mode = mode
        self.set_reactive(ChoiceItem.selected, selected)
        self.set_class(selected, "-selected")

    def _marker(self) -> str:
        if self.mode == "single":
            return "(●) " if self.selected else "( ) "
        if self.mode == "multiple":
            return "[✓] " if self.selected else "[ ] "
        return ""

    def render(self) -> Table:
        right_to_left = self.app.has_class("-rtl")
        text = Text(self._marker() + self.choice.label, justify="right" if right_to_left else "left")
        if self.choice.description:
            text.append("\n" + self.choice.description, style=self.get_component_rich_style("choice--description"))
        # Only choices a number key can pick carry a number (a "1" pressed for a tenth choice would
        # pick the first). No-break spaces: a leading space would be trimmed from the badge.
        badge = f"{key_for(self.number) or '•':>2}".replace(" ", "\u00a0")
        badge_text = Text(f"\u00a0{badge}\u00a0", style=self.get_component_rich_style("choice--number"))
        grid = Table.grid(padding=(0, GAP, 0, 0), expand=True)
        if right_to_left:
            grid.add_column(ratio=1)
            grid.add_column(width=BADGE, no_wrap=True)
            grid.add_row(text, badge_text)
        else:
            grid.add_column(width=BADGE, no_wrap=True)
            grid.add_column(ratio=1)
            grid.add_row(badge_text, text)
        return grid

    def render_line(self, y: int) -> Strip:
        """The words in display order (kiosk/bidi.py); the badge stays as it is."""
        strip = super().render_line(y)
        direction = paragraph_direction(self.app)
        if direction is None:
            return strip
        width = strip.cell_length
        if direction == "R":
            return display_line(strip, direction, 0, max(0, width - BADGE - GAP))
        return display_line(strip, direction, min(width, BADGE + GAP), width)

    def watch_selected(self, selected: bool) -> None:
        self.set_class(selected, "-selected")

    @property
    def choice_list(self) -> "ChoiceList":
        return self.query_ancestor(ChoiceList)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Enter on a checkbox is not "tick this": it continues, as a form would.
        if action == "activate" and self.mode == "multiple":
            return False
        if action == "pick_this" and self.mode == "menu":
            return False
        return True

    def action_move(self, step: int) -> None:
        self.choice_list.move_focus(self, step)

    def action_pick_this(self) -> None:
        """Space: pick (or, in a multiple choice, tick or untick) this choice."""
        self.choice_list.choose(self, how="key")

    def action_activate(self) -> None:
        self.choice_list.choose(self, how="enter")

    def on_click(self, event: events.Click) -> None:
        event.stop()
        self.focus()
        self.choice_list.choose(self, how="click")


class ChoiceList(Guarded, Vertical):
    """A numbered list of choices."""

    DEFAULT_CSS = """
    ChoiceList { height: auto; }
    """

    @dataclass
    class Picked(Message):
        """A menu choice was picked."""

        choice_list: "ChoiceList"
        key: str
        number: int

        @property
        def control(self) -> "ChoiceList":
            return self.choice_list

    @dataclass
    class Changed(Message):
        """What is selected changed (single or multiple)."""

        choice_list: "ChoiceList"
        selected: tuple[str, ...]

        @property
        def control(self) -> "ChoiceList":
            return self.choice_list

    @dataclass
    class Submitted(Message):
        """Enter on a single choice: select it and continue."""

        choice_list: "ChoiceList"

        @property
        def control(self) -> "ChoiceList":
            return self.choice_list

    def __init__(self, choices: Iterable[Choice], mode: Mode = "menu", *, selected: Iterable[str] = (),
                 id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.choices = tuple(choices)
        self.mode = mode
        chosen = set(selected)
        self._items = [ChoiceItem(number, choice, mode, selected=choice.key in chosen)
                       for number, choice in enumerate(self.choices, 1)]

    def compose(self):
        yield from self._items

    @property
    def selected(self) -> tuple[str, ...]:
        return tuple(item.choice.key for item in self._items if item.selected)

    def focus_first(self) -> None:
        chosen = [item for item in self._items if item.selected]
        target = chosen[0] if chosen else (self._items[0] if self._items else None)
        if target is not None:
            target.focus()

    def move_focus(self, item: ChoiceItem, step: int) -> None:
        index = self._items.index(item) + step
        if 0 <= index < len(self._items):
            self._items[index].focus()
            if self.mode == "single" and self.selected:
                self.choose(self._items[index], how="arrow")
        else:
            # Past either end: leave the list, as Tab would.
            (self.screen.focus_next if step > 0 else self.screen.focus_previous)()

    def pick_number(self, number: int) -> bool:
        """The resident pressed `number`: whether a choice had that number."""
        if not 1 <= number <= min(len(self._items), NUMBER_KEYS):
            return False
        item = self._items[number - 1]
        item.focus()
        self.choose(item, how="number")
        return True

    def choose(self, item: ChoiceItem, *, how: str) -> None:
        if self.mode == "menu":
            self.post_message(self.Picked(self, item.choice.key, item.number))
            return
        if self.mode == "single":
            if how == "enter":  # Enter continues with what is selected, if anything
                self.post_message(self.Submitted(self))
                return
            for other in self._items:
                other.selected = other is item
            self.post_message(self.Changed(self, self.selected))
            return
        item.selected = not item.selected
        self.post_message(self.Changed(self, self.selected))

    def spoken(self) -> str:
        return "\n".join(f"{key_for(item.number) or '-'}. {item.choice.label}. "
                         f"{item.choice.description}".rstrip() for item in self._items)
