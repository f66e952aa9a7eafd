"""Small builders shared by tests."""

from __future__ import annotations

from sync.flow import Draft

PHONE = "+447911123456"
EMAIL = "ann.resident@example.com"
DESCRIPTION = "Deep pothole by the bus stop, a cyclist nearly fell"


def draft(**changes) -> Draft:
    values = dict(
        service_code="pothole", channel="kiosk", language="en", catalogue_version="test-1",
        location={"address_string": "outside 4 Station Road, Brackenford"},
        attributes={"size": "large", "surface": "road"}, description=DESCRIPTION,
        contact={"name": "Ann Resident", "phone": PHONE, "email": EMAIL}, notify_phone=PHONE,
    )
    values.update(changes)
    return Draft(**values)
