"""The description field: several lines of words, in its own module so that Textual's TextArea
(its document, wrapping and syntax machinery) loads with the first page that asks for a
description, not at every kiosk's start."""

from __future__ import annotations

from dataclasses import dataclass

from textual import events
from textual.message import Message
from textual.widgets import TextArea

from kiosk.context import kiosk_of
from kiosk.messages import Guarded


class DescriptionArea(Guarded, TextArea):
    """Several lines of words, wrapped; Enter continues (as everywhere on the kiosk) rather than
    starting a new line, which nobody describing a pothole needs."""

    @dataclass
    class Submitted(Message):
        area: "DescriptionArea"

        @property
        def control(self) -> "DescriptionArea":
            return self.area

    def __init__(self, text: str = "", *, id: str | None = None) -> None:
        super().__init__(text, soft_wrap=True, show_line_numbers=False, tab_behavior="focus",
                         highlight_cursor_line=False, id=id)

    def on_mount(self) -> None:
        self.cursor_blink = kiosk_of(self).cursor_blink

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            self.post_message(self.Submitted(self))
            return
        await super()._on_key(event)
