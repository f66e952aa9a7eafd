"""The SMS channel: residents report and check requests by text, through a Twilio webhook.

`sms.app` is the web service, `sms.bot` the conversation, `sms.recognise` the understanding of
one-shot messages, `sms.keywords` the words in every language, `sms.templates` every message and
its segment budget, `sms.simulator` and `assist sms chat` a phone in a terminal. It is a channel:
it imports nothing from kiosk/ and makes no outbound calls (the sync worker sends texts, through
sync/sender.py). See docs/sms.md.
"""
