"""The library kiosk: a Textual app that takes a resident from choosing a language to a reference
number, and lets them check on a request they made here, with or without a network connection.

It is a channel: it asks the shared question flow (`sync.flow`) what to ask, saves finished
requests to the store and reads back-office reachability and statuses from it. It never imports
`sms/` and makes no network calls of its own.
"""
