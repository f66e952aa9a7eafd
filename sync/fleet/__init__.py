"""A kiosk's side of the council's fleet service (fleet/, on the council's servers).

An enrolled kiosk's sync worker tells the service how it is (a heartbeat) and what residents did
(take-up events and a record per finished submission), never who they are or what they wrote:
formats.py says what may cross, link.py keeps the enrolment in the store, client.py is the HTTP
(https, or plain http to this machine only), heartbeat.py and uploads.py build what is sent, and
reporter.py is the worker's one call.
"""
