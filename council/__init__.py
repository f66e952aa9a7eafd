"""The reference back office: a small Open311 GeoReport v2 server for the demo and the tests.

It is a test peer, not part of the product. It plays the demo council (Brackenford Borough
Council) with its own list of the services the kiosk's bundled catalogue was written for, keeps
requests in its own SQLite file, and validates POSTs as a strict council would, so that the kiosk
and SMS sync code always talks to a real server over real HTTP. Fault injection (`fail_rate`,
`latency`, `drop_after_commit`) reproduces the failures the sync worker must survive, above all the
ambiguous one: the council saved the request but the answer never arrived.

It imports no product code (an import-linter contract holds it to that), so that nothing the
product gets wrong is got wrong on both sides of the wire.

- `council.app`: `create_app(...)`, the Starlette application: routes, errors, lifespan.
- `council.endpoints`: the endpoints and the state they share (`app.state.office`).
- `council.services`: its services, read from its own council/services.toml.
- `council.edge`: the pure ASGI layer for the Date header and fault injection.
- `council.db`: the SQLite store of requests and updates.
- `council.validate`: parsing and validating `POST requests`.
- `council.formats`: JSON and XML rendering.
- `council.profiles`: the families of real servers it can play.

`assist council serve | update | list` (assist/cli/council.py) runs it.
"""
