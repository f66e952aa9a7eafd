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
    pass
