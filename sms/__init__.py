"""The SMS channel: residents report and check requests by text, through a Twilio webhook.

`sms.app` is the web service (its middleware in `sms.middleware`, what it holds in `sms.service`),
`sms.bot` the bot a service holds, `sms.batch` the transaction each batch of messages is taken in,
`sms.conversation` the conversation itself (a typed state machine, with no store in it),
`sms.answers` how replies are read, `sms.recognise` and `sms.places` the understanding of one-shot
messages, `sms.keywords` the words in every language, `sms.templates` every message and its
segment budget, `sms.simulator` and `assist sms chat` a phone in a terminal. It is a channel: it
imports nothing from kiosk/ and makes no outbound calls (the sync worker sends texts, through
sync/texting/sender.py). See docs/sms.md.
"""
