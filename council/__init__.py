"""The reference back office: a small Open311 GeoReport v2 server for the demo and the tests.

It is a test peer, not part of the product. It plays the demo council (Brackenford Borough
Council) with the bundled catalogue's service codes, keeps requests in its own SQLite file, and
validates POSTs as a strict council would, so that the kiosk and SMS sync code always talks to a
real server over real HTTP. Fault injection (`fail_rate`, `latency`, `drop_after_commit`)
reproduces the failures the sync worker must survive, above all the ambiguous one: the council
saved the request but the answer never arrived.

- `council.app`: `create_app(...)`, the Starlette application.
- `council.edge`: the pure ASGI layer for the Date header and fault injection.
- `council.db`: the SQLite store of requests and updates.
- `council.validate`: parsing and validating `POST requests`.
- `council.formats`: JSON and XML rendering.
- `council.commands`: `assist council serve | update | list`.
"""
