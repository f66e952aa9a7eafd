"""Helpers for the kiosk tests: a monotonic clock moved by hand, a stand-in for espeak-ng's
process, and ways to read what the kiosk has drawn."""

from __future__ import annotations

#: What a resident typed, which a wipe must leave nowhere.
SECRET_NAME = "Zebedee Quuxworth"
SECRET_PLACE = "behind the purple shed at 99 Nowhere Lane"


async def idle(pilot, monotonic, seconds: float) -> None:
    """Nobody touches the kiosk for `seconds`: the clock moves and the heartbeat runs."""
    monotonic.advance(seconds)
    pilot.app.heartbeat()
    await pilot.pause()


class Monotonic:
    """The kiosk's inactivity clock, moved by hand: no test sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakePopen:
    """Stands in for subprocess.Popen: records the command line and what was written to stdin."""

    calls: list["FakePopen"] = []

    def __init__(self, args, **kwargs) -> None:
        self.args = args
        self.kwargs = kwargs
        self.written = b""
        self.stdin = self
        self.terminated = False
        FakePopen.calls.append(self)

    def write(self, data: bytes) -> int:
        self.written += data
        return len(data)

    def close(self) -> None:
        pass

    def poll(self):
        return None if not self.terminated else 0

    def terminate(self) -> None:
        self.terminated = True


def posted(seen: list) -> list:
    """The kiosk's own messages (kiosk/messages.py) from a `message_hook` record, in the order
    posted, each once (a message bubbling from a page to the app reaches the hook at each)."""
    from kiosk import messages

    return list({id(message): message for message in seen if type(message).__module__ == messages.__name__}.values())


def screen_text(app) -> str:
    """Everything drawn on the terminal right now, as plain text."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def page(app) -> str:
    return type(app.screen).__name__


def choice_number(app, key: str) -> str:
    """The number key that picks the choice `key` on the current page (menus come from the catalogue,
    so tests name what they want, not where it happens to be)."""
    from kiosk.widgets.choices import ChoiceItem

    for item in app.screen.query(ChoiceItem):
        if item.choice.key == key:
            return str(item.number)
    raise AssertionError(f"no choice {key!r} on {page(app)}: {[i.choice.key for i in app.screen.query(ChoiceItem)]}")


async def keys(pilot, *pressed: str) -> None:
    """Key presses; each waits until the app is idle again."""
    await pilot.press(*pressed)


async def type_in(pilot, text: str, *then: str) -> None:
    """Text into the focused field, as a paste would put it there (a key at a time is slow to
    test and proves nothing more; some tests still type key by key), then `then`."""
    from textual.widgets import Input, TextArea

    field = pilot.app.focused
    if isinstance(field, Input):
        field.insert_text_at_cursor(text)
    elif isinstance(field, TextArea):
        field.insert(text)
    else:
        raise AssertionError(f"nothing to type into: the focus is on {field!r}")
    await pilot.pause()
    if then:
        await pilot.press(*then)


async def tap(pilot, widget) -> None:
    """Touch (a mouse click) on a widget, scrolled into view first as a finger would."""
    widget.screen.scroll_to_widget(widget, animate=False)
    await pilot.pause()
    assert await pilot.click(widget), f"could not tap {widget!r}"
    await pilot.pause()


async def choose(pilot, key: str) -> None:
    await keys(pilot, choice_number(pilot.app, key))


def words(app) -> str:
    """What the page's text widgets say, whitespace folded (long sentences wrap on screen)."""
    from kiosk.widgets.choices import ChoiceItem

    said = []
    for widget in app.screen.query("Static, ChoiceItem"):
        if not widget.display:
            continue
        if isinstance(widget, ChoiceItem):
            said += [widget.choice.label, widget.choice.description]
        else:
            said.append(str(widget.content))
    return " ".join(" ".join(said).split())


#: Answers as the question flow would have validated them, to start a test part-way through.
POTHOLE = {"location": {"address_string": "outside 4 Station Road"}, "attribute.size": "large",
           "attribute.surface": "road", "description": "Deep hole by the bus stop"}
NO_CONTACT = {"name": None, "phone": None, "email": None}


async def open_page(pilot, service_code: str, page_key: str | None, answers: dict | None = None, *,
                    language: str = "en", contact_wanted: bool | None = None) -> None:
    """Straight to one page of a service's journey, as if the resident had got there (None: check
    your answers). The pages before it are not on the stack."""
    app = pilot.app
    journey = app.journey
    journey.session.language = language
    app.apply_language()
    journey.session.choose_service(journey.catalogue.get(service_code))
    for key, value in (answers or {}).items():
        journey.session.answer(key, value)
    if contact_wanted is not None:
        journey.session.contact_wanted = contact_wanted
    await app.show(journey.page(page_key))
    await pilot.pause()
