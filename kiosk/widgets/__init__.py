"""The kiosk's own widgets: numbered choices, the big reference, the chrome around every page."""
