"""The kiosk's two colour schemes. Residents switch between them with "Change colours"; nobody
gets Textual's theme picker.

The default is GOV.UK's own palette, black text on white (19.7:1), green buttons with white text
(5.9:1), links in blue (5.2:1) and errors in red (5.0:1). The alternative, for people with low
vision who find white glaring, is yellow text on black (19.6:1) with cyan links. Every pair meets
WCAG 2.2's 4.5:1 for text.

Focus meets WCAG 2.2's focus appearance: every control's colours change by at least 3:1 when it
takes the focus, in both schemes (tests/kiosk/test_kiosk_focus.py measures them as drawn). A
colour change that looks loud can be faint in contrast (GOV.UK yellow on white is 1.4:1; white on
the alternative's yellow buttons was 1.07:1), so focus is reverse video where it sits on the page
(black with yellow words in the default, white with black words in the alternative), GOV.UK's
yellow on the default's green buttons and black bar (4.6:1 and more), and black with white words
and a white frame on the alternative's yellow buttons and bar.
"""

from __future__ import annotations

from textual.theme import Theme

DEFAULT = "assist-contrast"
ALTERNATIVE = "assist-yellow-on-black"

#: Variables the kiosk's stylesheets use beyond Textual's own; each theme sets every one.
VARIABLE_NAMES = ("kiosk-text", "kiosk-hint", "kiosk-link", "kiosk-focus", "kiosk-focus-text", "kiosk-button",
                  "kiosk-button-text", "kiosk-error", "kiosk-border", "kiosk-panel", "kiosk-panel-text",
                  "kiosk-quiet", "kiosk-bar", "kiosk-bar-text", "kiosk-button-focus", "kiosk-button-focus-text",
                  "kiosk-bar-focus", "kiosk-bar-focus-text")

CONTRAST = Theme(
    name=DEFAULT, dark=False,
    primary="#1d70b8", secondary="#505a5f", accent="#ffdd00", warning="#f47738", error="#d4351c",
    success="#00703c", foreground="#0b0c0c", background="#ffffff", surface="#ffffff", panel="#f3f2f1",
    variables={
        "kiosk-text": "#0b0c0c", "kiosk-hint": "#484949", "kiosk-link": "#1d70b8",
        "kiosk-focus": "#0b0c0c", "kiosk-focus-text": "#ffdd00",
        "kiosk-button": "#00703c", "kiosk-button-text": "#ffffff",
        "kiosk-button-focus": "#ffdd00", "kiosk-button-focus-text": "#0b0c0c",
        "kiosk-bar-focus": "#ffdd00", "kiosk-bar-focus-text": "#0b0c0c",
        "kiosk-error": "#d4351c", "kiosk-border": "#0b0c0c",
        "kiosk-panel": "#00703c", "kiosk-panel-text": "#ffffff",
        "kiosk-quiet": "#484949", "kiosk-bar": "#0b0c0c", "kiosk-bar-text": "#ffffff",
        "footer-background": "#f3f2f1", "footer-foreground": "#0b0c0c", "footer-key-foreground": "#0b0c0c",
        "footer-description-foreground": "#0b0c0c",
        "input-cursor-background": "#ffdd00", "input-cursor-foreground": "#0b0c0c",
        "input-selection-background": "#505a5f",
        "block-cursor-background": "#ffdd00", "block-cursor-foreground": "#0b0c0c",
    },
)

YELLOW_ON_BLACK = Theme(
    name=ALTERNATIVE, dark=True,
    primary="#00ffff", secondary="#ffffff", accent="#ffffff", warning="#ffbf47", error="#ff8f80",
    success="#ffff00", foreground="#ffff00", background="#000000", surface="#000000", panel="#1a1a1a",
    variables={
        "kiosk-text": "#ffff00", "kiosk-hint": "#ffffff", "kiosk-link": "#00ffff",
        "kiosk-focus": "#ffffff", "kiosk-focus-text": "#000000",
        "kiosk-button": "#ffff00", "kiosk-button-text": "#000000",
        "kiosk-button-focus": "#000000", "kiosk-button-focus-text": "#ffffff",
        "kiosk-bar-focus": "#000000", "kiosk-bar-focus-text": "#ffffff",
        "kiosk-error": "#ff8f80", "kiosk-border": "#ffff00",
        "kiosk-panel": "#ffff00", "kiosk-panel-text": "#000000",
        "kiosk-quiet": "#ffffff", "kiosk-bar": "#ffff00", "kiosk-bar-text": "#000000",
        "footer-background": "#1a1a1a", "footer-foreground": "#ffff00", "footer-key-foreground": "#ffffff",
        "footer-description-foreground": "#ffff00",
        "input-cursor-background": "#000000", "input-cursor-foreground": "#ffffff",
        "input-selection-background": "#1a1a1a",
        "block-cursor-background": "#ffffff", "block-cursor-foreground": "#000000",
    },
)

THEMES = (CONTRAST, YELLOW_ON_BLACK)
BY_NAME = {theme.name: theme for theme in THEMES}


def other(name: str) -> str:
    return ALTERNATIVE if name == DEFAULT else DEFAULT
