"""Textual's Static and Button, drawing right-to-left lines in display order where the kiosk's
terminal needs it (kiosk/bidi.py). Every page and widget of the kiosk uses these two in place of
textual.widgets' own; the names are the same, so stylesheets that say `Static` or `Button` still
match them."""

from __future__ import annotations

from textual import widgets

from kiosk.bidi import DisplayOrder
from kiosk.messages import Guarded


class Static(DisplayOrder, widgets.Static):
    pass


class Button(DisplayOrder, Guarded, widgets.Button):
    def update_node_styles(self, animate: bool = True) -> None:
        """Restyle only a button that is in a page. Textual's Button sets its classes (flat, compact)
        in its constructor, and each asked for a restyle of a button in no page yet (styled anyway
        when it is mounted): most of the time from Enter to the next page drawn went on that."""
        if self.is_attached:
            super().update_node_styles(animate)
