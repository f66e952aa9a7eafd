"""The kiosk's own widgets: numbered choices, the big reference, the chrome around every page, and
the Static and Button every page uses, which draw right-to-left lines in display order."""
