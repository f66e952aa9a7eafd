"""The council's view of its kiosks: enrolment, heartbeats and take-up events (`assist fleet serve`).

It runs on the council's own servers beside the SMS service, over the same store (SQLite or
PostgreSQL), and is not council/ (the reference back office). It may import sync/, never kiosk/
or sms/. registry.py holds the kiosks and their credentials, hours.py their opening hours,
schema.py what a kiosk may send, heartbeats.py and events.py what is kept of it, app.py the API.
"""
