"""A request's body read no further than its endpoint allows: the kiosks' JSON and the staff's forms."""

from __future__ import annotations

from starlette.requests import Request


class TooLarge(Exception):
    pass


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The body, unread when Content-Length says it is over `max_bytes`, else read up to that (TooLarge)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise TooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise TooLarge
    return bytes(body)
