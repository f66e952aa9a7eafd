"""Texting, the store's side: residents' numbers, SMS conversations, the outbound texts queue and
what the provider says happened to each text. Used by the SMS channel (sms/) and the sync worker,
which alone sends (sender.py).

Everything here is personal data and is kept like the outbox: sealed with the store key, found
by keyed hash, purged on a schedule. By what each module holds:

    segments       what a text costs (GSM-7 / UCS-2 segments) and the fitting of it to a budget
    wording        the words of the status and reference texts
    numbers        sealed numbers, their keyed hash, opt-outs and numbers that cannot take texts
    intake         inbound messages claimed once by MessageSid, and rate-limit counts
    conversations  one sealed conversation per number, with its expiry
    outbound       the queue: once per dedupe key, leased, `sending` before a text leaves
    deliveries     delivery statuses, taken once and only moving forward
    notices        the reference and status texts the worker queues for a resident
    retention      the purge of texting's personal data
    sender         TextSender: the queue sent through Twilio or GOV.UK Notify
"""
