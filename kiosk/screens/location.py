"""Where is it? Search the offline gazetteer by postcode or street and pick an address, or say
where it is in words when there is no address (a park, a bus stop, the verge of a road).

Works the same with the network cable out: the whole address list is in the local store."""

from __future__ import annotations

from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Input

from kiosk import messages
from kiosk.bidi import kept_in_order
from kiosk.context import kiosk_of
from kiosk.screens.base import actions
from kiosk.screens.question import AnswerScreen
from kiosk.widgets.choices import Choice, ChoiceList
from kiosk.widgets.fields import ErrorSummary, Field, FieldError
from kiosk.widgets.text import Button, Static
from locales import NP_
from sync.places.gazetteer import Place

#: Addresses shown at once: every one has a number key.
SHOWN = 8
FOUND = NP_("{count} address found. Choose it, or search again.",
            "{count} addresses found. Choose one, or search again.")
MORE = NP_("The first {count} address is shown. Type more of the address, like the house number, to find yours.",
           "The first {count} addresses are shown. Type more of the address, like the house number, to find yours.")


class LocationScreen(AnswerScreen):
    def __init__(self, question, *, changing: bool = False) -> None:
        super().__init__(question, changing=changing)
        self.places: list[Place] = []
        self.describing = False

    def compose_body(self):
        answer = self.answers.get("location")
        if answer and answer.get("address_id"):
            self.places = [Place(str(answer["address_id"]), answer.get("address_string", ""), "",
                                 answer.get("lat", 0.0), answer.get("long", 0.0))]
        elif answer:
            self.describing = True
        yield ErrorSummary()
        yield self.caption()
        heading = self._(self.question.prompt)
        self.title = heading
        yield Static(heading, classes="heading speak", markup=False)
        with Vertical(id="search-part"):
            # GOV.UK's order: the field's label (its placeholder goes as soon as anything is typed),
            # the hint, the error message, the field.
            yield Static(self._("Postcode or street"), classes="label speak", markup=False)
            yield Static(self._("Search for the address by postcode or street name."), classes="hint speak",
                         markup=False)
            yield FieldError()
            row = [Field(id="search", classes="answer-field", placeholder=self._("Postcode or street"),
                         select_on_focus=False),
                   Button(Content(self._("Search")), id="search-button", classes="secondary")]
            # Mirrored on a right-to-left page: the field against the right edge, its button after it.
            yield Horizontal(*(reversed(row) if self.t.right_to_left else row), id="search-row")
            note = Static("", id="search-note", classes="hint speak", markup=False)
            note.display = False
            yield note
            yield Vertical(id="results")
            yield actions(Button(Content(self._("I cannot find it: describe the place instead")),
                                 id="describe-button", classes="link", compact=True))
        with Vertical(id="describe-part"):
            yield Static(self._("Describe the place"), classes="label speak", markup=False)
            yield Static(self._("For example, outside the library on Market Square, or the bus stop on "
                                "Station Road."), classes="hint speak", markup=False)
            yield FieldError()
            yield Input(answer.get("address_string", "") if (answer and self.describing) else "", id="place",
                        classes="answer-field", select_on_focus=False)
            yield actions(Button(Content(self._("Search for an address instead")), id="search-instead",
                                 classes="link", compact=True))
        yield actions(Button(Content(self._("Continue")), id="continue", classes="continue"))

    async def on_mount(self) -> None:
        super().on_mount()
        if self.places:
            await self.show_results(self.places, selected=0)
            self.note(self._("The address you chose:"))
        self.set_describing(self.describing)

    def field_error(self, field) -> FieldError:
        part = "#describe-part" if self.describing else "#search-part"
        return self.query_one(part).query_one(FieldError)

    def set_describing(self, describing: bool) -> None:
        self.describing = describing
        self.query_one("#search-part").display = not describing
        self.query_one("#describe-part").display = describing
        if describing:
            self.query_one("#place", Input).focus()
        else:
            results = self.query(ChoiceList)
            if results:
                results.first().focus_first()
            else:
                self.query_one("#search", Input).focus()

    async def show_results(self, places: list[Place], selected: int | None = None) -> None:
        box = self.query_one("#results", Vertical)
        await box.remove_children()
        self.places = places
        if places:
            choices = [Choice(str(index), kept_in_order(place.address, self.t.right_to_left))
                       for index, place in enumerate(places)]
            results = ChoiceList(choices, "single", id="addresses", classes="answer-field",
                                 selected=[str(selected)] if selected is not None else ())
            await box.mount(results)
            results.focus_first()

    def note(self, text: str) -> None:
        note = self.query_one("#search-note", Static)
        note.update(text)
        note.display = bool(text)

    async def search(self) -> None:
        query = self.query_one("#search", Input).value.strip()
        if not query:
            self.note(self._("Type a postcode or a street name, then choose Search."))
            self.query_one("#search", Input).focus()
            return
        found = kiosk_of(self).places.search(query, limit=SHOWN + 1)
        shown = found[:SHOWN]
        if not found:
            self.note(self._("No addresses found for “{query}”. Check the spelling, try the postcode, or "
                               "describe the place instead.").format(query=query))
        elif len(found) > SHOWN:
            self.note(self._n(*MORE, SHOWN).format(count=self.t.number(SHOWN)))
        else:
            self.note(self._n(*FOUND, len(found)).format(count=self.t.number(len(found))))
        await self.show_results(shown)
        if not found:
            self.query_one("#search", Input).focus()

    @messages.guarded
    async def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "search":
            await self.search()
        else:
            self.action_continue()

    @messages.guarded
    async def on_button_pressed(self, event: Button.Pressed) -> None:
        button = event.button.id
        if button == "search-button":
            event.stop()
            await self.search()
        elif button == "describe-button":
            event.stop()
            self.set_describing(True)
        elif button == "search-instead":
            event.stop()
            self.set_describing(False)
        # Continue is AnswerScreen's: Textual calls the handler of every class in the chain.

    @messages.guarded
    def on_choice_list_submitted(self, event: ChoiceList.Submitted) -> None:
        event.stop()
        self.action_continue()

    def action_continue(self) -> None:
        if self.describing:
            place = self.query_one("#place", Input)
            self.accept(place.value, place)
            return
        results = self.query(ChoiceList)
        chosen = results.first().selected if results else ()
        field: Widget = results.first() if results else self.query_one("#search", Input)
        self.accept(self.places[int(chosen[0])] if chosen else None, field)
