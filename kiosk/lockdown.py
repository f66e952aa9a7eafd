"""Locked down for a public place: no quit key, no command palette, no theme picker, no copying
to the clipboard, no text selection. The kiosk is left only through a signal from the operating
system, a supervisor's maintenance, or Ctrl+Q on a kiosk started with --allow-quit."""

from __future__ import annotations

from textual.app import App
from textual.binding import Binding

#: Textual actions a resident must never reach (from a key, a link or anything else).
LOCKED_ACTIONS = frozenset({"quit", "command_palette", "change_theme", "toggle_dark", "suspend_process",
                            "screenshot", "help_quit", "show_help_panel", "hide_help_panel"})


class LockedDownApp(App[None], inherit_bindings=False):
    """None of Textual's own ways out; the kiosk's app adds its own keys on top."""

    ENABLE_COMMAND_PALETTE = False
    ALLOW_SELECT = False
    BINDINGS = [
        # Ctrl+Q stops the kiosk only when it was started with --allow-quit (demonstrations).
        Binding("ctrl+q", "stop", show=False, priority=True, system=True, id="kiosk.stop"),
        # Keys that quit, suspend, copy or open things in Textual or a terminal do nothing here.
        Binding("ctrl+q,ctrl+c,ctrl+x,ctrl+p,ctrl+z,ctrl+backslash,ctrl+s", "nothing", show=False, priority=True,
                system=True, id="kiosk.locked"),
    ]
    #: Whether Ctrl+Q stops the kiosk (a demonstration, not a library).
    allow_quit = False

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in LOCKED_ACTIONS:
            return False
        if action == "stop":
            return self.allow_quit
        return True

    def action_nothing(self) -> None:
        """Quit, suspend, copy and the command palette are not for a public kiosk."""

    def copy_to_clipboard(self, text: str) -> None:
        """Never: a terminal's clipboard would keep what a resident typed for the next person."""
