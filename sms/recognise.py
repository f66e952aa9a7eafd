"""Understanding a one-shot text: which service, and where.

"missed bin 12 High St", "pothole outside 4 Station Road", "fly tipping behind the library":

* **The service** comes from the catalogue's keywords (English, and each language's own list,
  which translators write as the words people really use) and the service names, matched with
  rapidfuzz against the message's words after text-speak and filler words are normalised on
  both sides ("bins wasnt collected" meets "bins not collected"). Longer, exact phrases win over
  single words and near misses; among equals, the one mentioned first.
* **The place** comes from the gazetteer: a postcode; a house number before a street name
  (spelt roughly: "staton rd"); a street alone; or a named place ("the library", "town hall").
  A village named in the message narrows it down. Several candidates (4 Station Road exists in
  three villages) are offered as numbered choices by the bot, never guessed.

Nothing here writes: the bot asks only what is missing, and reads everything back before sending.
"""

from __future__ import annotations

import re
import weakref
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from typing import Iterable

from rapidfuzz import fuzz, process

from locales import N_, translator
from sms.keywords import WORD_CHAR, plain
from sync.catalogue import Catalogue
from sync.catalogue_extract import keyword_message
from sync.flow import Invalid, Question, clean_text, questions, validate
from sync.places import gazetteer
from sync.places.gazetteer import Place

# TRANSLATORS: Comma-separated words to ignore when working out what a text message is about
# (little words like "the", "my", "is"). Give your language's, lower case.
FILLER_WORDS = N_("a, an, the, my, our, their, his, her, its, is, are, was, were, be, been, being, has, have, had, "
                  "there, theres, this, that, it, i, im, we, me, us, you, your, of, to, at, in, on, by, for, from, "
                  "with, and, or, some, someone, please, just, again, still, very, really, got, get, hi, hello, "
                  "can, could, would, will, today, yesterday, week, weeks, days, since, about, near, outside, "
                  "behind, opposite, next, front, back, corner, end, up, down, just, so, too, also, all, lot, lots")
# TRANSLATORS: Comma-separated text-speak and common misspellings, each written as
# typed=meaning. Add your language's; keep the English ones.
TEXT_SPEAK = N_("u=you, ur=your, r=are, pls=please, plz=please, thx=thanks, nt=not, nt=not, hasnt=not, "
                "havent=not, hadnt=not, wasnt=not, werent=not, didnt=not, dont=not, doesnt=not, isnt=not, "
                "aint=not, never=not, wont=not, cant=not, notbeen=not, n0t=not, collectd=collected, "
                "colected=collected, emptyed=emptied, emptie=emptied, emtied=emptied, rubish=rubbish, "
                "rubbsh=rubbish, bins=bin, lamppost=lamp post, lampost=lamp post, streetlight=street light, "
                "flytip=fly tipping, flytipped=fly tipping, flytipping=fly tipping, fly-tipping=fly tipping, "
                "dumpd=dumped, pot-hole=pothole, potholes=pothole, grafitti=graffiti, grafiti=graffiti, "
                "needels=needles, syringes=syringe, drains=drain, 2day=today, b4=before, bc=because, "
                "cos=because, coz=because, wk=week, rd=road, st=street, ln=lane")
#: Below this (0-100) a keyword does not count as mentioned.
SERVICE_CUTOFF = 84
#: A keyword met by a window of a different number of words ("pot hole", "pothole") needs this.
CROSS_SIZE_CUTOFF = 92
#: Keywords shorter than this must be typed exactly (fuzzy "poo" would match "pool").
FUZZY_MIN_CHARS = 6
#: Shortest keyword word that counts on its own when it belongs to one service only.
DISTINCTIVE_MIN_CHARS = 5
STREET_CUTOFF = 86
#: A service found only among the place's own words needs this.
RETRY_CUTOFF = 90
#: Languages every message is read in, whatever the resident chose: English (what posters and
#: Twilio's own replies use) and Welsh, wherever it is offered (no less favourably than English).
ALWAYS_READ = ("en", "cy")
MAX_CHOICES = 5
#: Words after which a single-word place name (library, church) is taken for a landmark.
GENERIC_NAME_WORDS = frozenset({"cottage", "farm", "house", "lodge", "barn", "the", "old", "bank", "granary",
                                "forge", "bakery", "rectory", "hillside", "meadow", "tree", "school"})
_POSTCODE = re.compile(r"\b([A-Za-z]{1,2}[0-9][A-Za-z0-9]?)\s*([0-9][A-Za-z]{2})\b")
_HOUSE_NUMBER = re.compile(r"^[0-9]{1,4}[a-z]?$")
_WORD = re.compile(rf"{WORD_CHAR}+(?:['\u2019]{WORD_CHAR}+)*")


def _tokens(text: str) -> list[str]:
    """Folded words with apostrophes taken out ("wasn't" -> wasnt)."""
    return [word.replace("'", "").replace("\u2019", "") for word in _WORD.findall(plain(text))]


def _stem(word: str) -> str:
    """A light, language-blind stem, the same on both sides: tipped, tipping -> tip; dumped -> dump."""
    if len(word) > 4:
        for suffix in ("ing", "ed", "es", "s"):
            if word.endswith(suffix) and len(word) - len(suffix) >= 4:
                word = word[:-len(suffix)]
                if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeiouls":
                    word = word[:-1]
                break
    return word


@dataclass(frozen=True)
class Keyword:
    service: str
    tokens: tuple[str, ...]
    joined: str  # the words run together: "pot hole" and "pothole" meet
    sorted_joined: str  # the same, words in alphabetical order: "mattress dumped" meets "dumped mattress"


class Fuzzy:
    """Strings to find near matches of (fuzz.ratio), kept in order of length.

    fuzz.ratio cannot reach a cutoff between two strings whose lengths differ too much (it is at
    most 200 * shorter / (both lengths together)), so a look-up compares the query only with the
    strings whose length allows it: a fraction of them. Matches come back exactly as
    `process.extract` over all the strings would give them: best first, ties in the strings'
    original order (their ids, which ascend with it), at most `limit`.
    """

    def __init__(self, strings: list[str], ids: list[int] | None = None) -> None:
        ids = ids if ids is not None else list(range(len(strings)))
        order = sorted(range(len(strings)), key=lambda index: len(strings[index]))
        self.strings = [strings[index] for index in order]
        self.positions = [ids[index] for index in order]  # what each string stands for (ascending)
        self.lengths = [len(string) for string in self.strings]

    def extract(self, query: str, cutoff: float, limit: int) -> list[tuple[str, float, int]]:
        size = len(query)
        low = bisect_left(self.lengths, size * cutoff / (200 - cutoff) - 1e-9)
        high = bisect_right(self.lengths, size * (200 - cutoff) / max(cutoff, 1e-9) + 1e-9)
        if low >= high:
            return []
        found = process.extract(query, self.strings[low:high], scorer=fuzz.ratio, score_cutoff=cutoff, limit=None)
        matches = sorted(((choice, score, self.positions[low + index]) for choice, score, index in found),
                         key=lambda match: (-match[1], match[2]))
        return matches[:limit]


@dataclass(frozen=True)
class PlaceGuess:
    """Where a message says the problem is."""

    kind: str  # address (one Place), addresses (several to choose from), street, streets
    places: tuple[Place, ...] = ()
    streets: tuple[tuple[str, str], ...] = ()  # (street, town)
    number: str = ""  # a house number given with a street, not in the gazetteer

    def candidates(self) -> list[str]:
        if self.places:
            return [place.address for place in self.places]
        number = f"{self.number} " if self.number else ""
        return [f"{number}{street}, {town}" if town else f"{number}{street}" for street, town in self.streets]

    def describe(self) -> str:
        return " | ".join(self.candidates())


@dataclass(frozen=True)
class Recognition:
    service: str | None
    score: float
    place: PlaceGuess | None
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass
class _Streets:
    generation: int | None
    pairs: list[tuple[str, str]]
    forms: Fuzzy  # normalised street names ("station road") and their base ("station")
    owners: list[tuple[int, bool]]  # index into pairs, whether the form is the base name only
    towns: dict[str, str]  # normalised town -> town
    landmarks: list[tuple[str, tuple[str, ...], int]]  # alias, its words, address row id
    landmarks_by_word: dict[str, list[tuple[tuple[str, ...], int]]] = field(default_factory=dict)


_street_cache: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


@dataclass
class _Vocabulary:
    """The keywords of some languages, ready to match: their words run together, the same in
    alphabetical order, and the words that belong to one service alone."""

    joined: Fuzzy
    sorted: Fuzzy
    distinctive: dict[str, str]


class Recogniser:
    """The service and place of one-shot messages, for a catalogue, a gazetteer and languages.

    A message is read for the keywords of English, of Welsh where it is offered (no less
    favourably than English), and of the resident's language; with no language given, of
    every language offered.
    """

    def __init__(self, db, catalogue: Catalogue, languages: Iterable[str]) -> None:
        self.db = db
        self.catalogue = catalogue
        self.languages = tuple(dict.fromkeys(("en", *languages)))
        self.fillers: set[str] = set()
        self.speak: dict[str, str] = {}
        for code in self.languages:
            t = translator(code)
            self.fillers |= {word.strip() for word in plain(t(FILLER_WORDS)).split(",") if word.strip()}
            for pair in plain(t(TEXT_SPEAK)).split(","):
                typed, _, meaning = pair.partition("=")
                if typed.strip() and meaning.strip():
                    self.speak.setdefault(typed.strip(), meaning.strip())
        self._choosing: dict[tuple[str, str], list[tuple[Question, frozenset[str]]]] = {}
        self.keywords: list[Keyword] = []
        self._spoken: list[set[str]] = []  # the languages each keyword is in
        found: dict[tuple[str, tuple[str, ...]], int] = {}
        for service in catalogue.services:
            phrases = [("en", phrase) for phrase in (*service.keywords, service.name)]
            for code in self.languages:
                t = translator(code)
                if service.keywords:
                    phrases += [(code, phrase) for phrase in t(keyword_message(service.keywords)).split(",")]
                phrases.append((code, t(service.name)))
            for code, phrase in phrases:
                tokens = tuple(self._service_tokens(phrase))
                if not tokens:
                    continue
                index = found.setdefault((service.code, tokens), len(self.keywords))
                if index == len(self.keywords):
                    self.keywords.append(Keyword(service.code, tokens, "".join(tokens), "".join(sorted(tokens))))
                    self._spoken.append(set())
                self._spoken[index].add(code)
        self._vocabularies: dict[tuple[str, ...], _Vocabulary] = {}

    def reading(self, language: str | None) -> tuple[str, ...]:
        """The languages a message from a resident who chose `language` is read in."""
        if language is None:
            return self.languages
        return tuple(code for code in dict.fromkeys((*ALWAYS_READ, language)) if code in self.languages)

    def _vocabulary(self, languages: tuple[str, ...]) -> _Vocabulary:
        found = self._vocabularies.get(languages)
        if found is None:
            ids = [index for index, spoken in enumerate(self._spoken) if not spoken.isdisjoint(languages)]
            # Words of the keywords that belong to one service alone ("paving", "wagio"): weaker
            # evidence, used only when no whole keyword is mentioned.
            owners: dict[str, set[str]] = {}
            for index in ids:
                for token in self.keywords[index].tokens:
                    owners.setdefault(token, set()).add(self.keywords[index].service)
            found = self._vocabularies[languages] = _Vocabulary(
                Fuzzy([self.keywords[index].joined for index in ids], ids),
                Fuzzy([self.keywords[index].sorted_joined for index in ids], ids),
                {token: next(iter(services)) for token, services in owners.items()
                 if len(services) == 1 and len(token) >= DISTINCTIVE_MIN_CHARS})
        return found

    # -- words ----------------------------------------------------------------------------------

    def _normalised(self, text: str) -> list[str]:
        words: list[str] = []
        for token in _tokens(text):
            words += self.speak.get(token, token).split()
        return words

    def _service_tokens(self, text: str, ignore: frozenset[str] = frozenset()) -> list[str]:
        return [_stem(word) for word in self._normalised(text)
                if word not in self.fillers and word not in ignore and not any(char.isdigit() for char in word)]

    # -- the service ------------------------------------------------------------------------------

    def service(self, text: str, ignore: frozenset[str] = frozenset(),
                language: str | None = None) -> tuple[str | None, float]:
        """The service a message is about and how sure (0-100), or (None, 0). Words in `ignore`
        (the place's, once found: "Station Road" is not about roads) are left out."""
        tokens = self._service_tokens(text, ignore)
        if not tokens:
            return None, 0.0
        vocabulary = self._vocabulary(self.reading(language))
        best: dict[str, tuple] = {}
        for size in range(1, min(4, len(tokens)) + 1):
            for start in range(0, len(tokens) - size + 1):
                window = tokens[start:start + size]
                joined, ordered = "".join(window), "".join(sorted(window))
                found = (vocabulary.joined.extract(joined, SERVICE_CUTOFF, 20)
                         + vocabulary.sorted.extract(ordered, SERVICE_CUTOFF, 20))
                for _choice, score, index in found:
                    keyword = self.keywords[index]
                    if score < 100 and (len(keyword.joined) < FUZZY_MIN_CHARS or len(joined) < FUZZY_MIN_CHARS):
                        continue
                    if abs(len(window) - len(keyword.tokens)) > 1:
                        continue
                    if len(window) != len(keyword.tokens) and score < CROSS_SIZE_CUTOFF:
                        continue
                    tier = 2 if score >= 97 else 1 if score >= 90 else 0
                    key = (tier, len(keyword.tokens), -start, score, len(keyword.joined))
                    if key > best.get(keyword.service, (-1,)):
                        best[keyword.service] = key
        if not best:
            for start, token in enumerate(tokens):
                if token in vocabulary.distinctive:
                    key = (-1, 1, -start, 80.0, len(token))
                    if key > best.get(vocabulary.distinctive[token], (-2,)):
                        best[vocabulary.distinctive[token]] = key
        if not best:
            return None, 0.0
        code, key = max(best.items(), key=lambda item: item[1])
        return code, float(key[3])

    # -- the place --------------------------------------------------------------------------------

    def _streets(self) -> _Streets:
        conn = self.db.conn
        generation = conn.execute("SELECT max(id) FROM gazetteer_imports").fetchone()[0]
        cached = _street_cache.get(self.db)
        if cached is not None and cached.generation == generation:
            return cached
        pairs = [tuple(row) for row in conn.execute("SELECT DISTINCT street, town FROM addresses WHERE street != ''")]
        forms, owners, towns = [], [], {}
        for index, (street, town) in enumerate(pairs):
            words = gazetteer.address_words(street)
            forms.append(" ".join(words))
            owners.append((index, False))
            if len(words) > 1 and words[-1] in gazetteer.STREET_TYPES:
                forms.append(" ".join(words[:-1]))
                owners.append((index, True))
            if town:
                towns[" ".join(gazetteer.address_words(town))] = town
        landmarks = self._landmarks(conn)
        by_word: dict[str, list[tuple[tuple[str, ...], int]]] = {}
        for _alias, alias_words, row_id in landmarks:
            by_word.setdefault(alias_words[0], []).append((alias_words, row_id))
        cached = _Streets(generation, pairs, Fuzzy(forms), owners, towns, landmarks, by_word)
        _street_cache[self.db] = cached
        return cached

    @staticmethod
    def _landmarks(conn) -> list[tuple[str, tuple[str, ...], int]]:
        """Named places (addresses with no house number) by their name and its distinctive tail:
        "Brackenford Central Library" is also "central library" and "library"."""
        named = conn.execute("SELECT id, address, street FROM addresses WHERE number = '' AND street != ''").fetchall()
        names: dict[int, list[str]] = {}
        for row_id, address, street in named:
            name = address.split(",")[0].strip()
            if not name or name == street:
                continue
            names[row_id] = gazetteer.address_words(name)
        tails: dict[tuple[str, ...], set[int]] = {}
        for row_id, words in names.items():
            for size in (1, 2):
                if len(words) > size:
                    tails.setdefault(tuple(words[-size:]), set()).add(row_id)
        aliases = []
        for row_id, words in names.items():
            aliases.append((" ".join(words), tuple(words), row_id))
            for size in (1, 2):
                tail = tuple(words[-size:])
                if len(words) > size and len(tails[tail]) == 1 and not (set(tail) & GENERIC_NAME_WORDS):
                    aliases.append((" ".join(tail), tail, row_id))
        return aliases

    def place(self, text: str) -> PlaceGuess | None:
        """Where the message says, from the gazetteer, or None."""
        if not text or not text.strip():
            return None
        conn = self.db.conn
        if conn.execute("SELECT 1 FROM addresses LIMIT 1").fetchone() is None:
            return None
        streets = self._streets()
        words = gazetteer.address_words(text)
        town_filter = self._towns_named(words, streets)
        if found := self._postcode(text, words):
            return found
        match = self._street_mention(words, streets, town_filter)
        landmark = self._landmark(words, streets, match)
        if match is None:
            return landmark
        start, end, pairs = match
        number = self._number_before(words, start)
        if number:
            rows = []
            for street, town in pairs:
                rows += conn.execute(
                    "SELECT uprn, address, postcode, lat, lon FROM addresses WHERE street = ? AND town = ? "
                    "AND number = ? COLLATE NOCASE ORDER BY sort_key LIMIT ?",
                    (street, town, number, MAX_CHOICES)).fetchall()
            if rows:
                places = tuple(Place(*row) for row in rows[:MAX_CHOICES])
                return PlaceGuess("address" if len(places) == 1 else "addresses", places=places)
        if landmark is not None and landmark.places:
            on_street = [place for place in landmark.places if any(street in place.address for street, _ in pairs)]
            if on_street:
                return PlaceGuess("address", places=(on_street[0],))
        return PlaceGuess("street" if len(pairs) == 1 else "streets", streets=tuple(pairs[:MAX_CHOICES]),
                          number=number or "")

    def _towns_named(self, words: list[str], streets: _Streets) -> set[str]:
        joined = f" {' '.join(words)} "
        return {town for form, town in streets.towns.items() if f" {form} " in joined}

    def _postcode(self, text: str, words: list[str]) -> PlaceGuess | None:
        for match in _POSTCODE.finditer(text):
            postcode = gazetteer.normalise_postcode(match.group(1) + match.group(2))
            if not postcode:
                continue
            places = gazetteer.search(self.db, postcode, limit=200)
            if not places:
                continue
            numbers = {word for word in words if _HOUSE_NUMBER.match(word)}
            numbered = [place for place in places
                        if re.match(r"^(?:flat \w+, )?([0-9]+[a-z]?) ", place.address.lower())
                        and re.match(r"^(?:flat \w+, )?([0-9]+[a-z]?) ", place.address.lower()).group(1) in numbers]
            chosen = numbered or places
            if len(chosen) == 1:
                return PlaceGuess("address", places=(chosen[0],))
            return PlaceGuess("addresses", places=tuple(chosen[:MAX_CHOICES]))
        return None

    def _street_mention(self, words: list[str], streets: _Streets, towns: set[str]):
        """(start, end, [(street, town), ...]) of the street the words name best, or None."""
        best = None
        numbers = [word.isdigit() for word in words]
        for size in range(min(4, len(words)), 0, -1):
            for start in range(0, len(words) - size + 1):
                if True in numbers[start:start + size]:
                    continue
                phrase = " ".join(words[start:start + size])
                cutoff = 100 if len(phrase) < 6 else STREET_CUTOFF
                for _form, score, index in streets.forms.extract(phrase, cutoff, 10):
                    owner, base_only = streets.owners[index]
                    if base_only:
                        # "station" alone is the railway station as often as Station Road: only
                        # a house number before it makes it the street
                        before = words[start - 1] if start else ""
                        if not _HOUSE_NUMBER.match(before) or score < 100:
                            continue
                    numbered = self._number_before(words, start) is not None
                    key = (score >= 97, numbered, size, score, -start)
                    if best is None or key > best[0]:
                        best = (key, start, start + size, streets.pairs[owner][0])
            if best is not None and best[0][0]:
                break
        if best is None:
            return None
        _key, start, end, street = best
        pairs = [pair for pair in streets.pairs if pair[0] == street]
        if towns:
            narrowed = [pair for pair in pairs if pair[1] in towns]
            pairs = narrowed or pairs
        return start, end, sorted(pairs, key=lambda pair: (pair[1] != "Brackenford", pair[1]))

    @staticmethod
    def _number_before(words: list[str], start: int) -> str | None:
        for back in (1, 2):
            if start - back < 0:
                return None
            word = words[start - back]
            if _HOUSE_NUMBER.match(word):
                return word
            if word not in ("no", "number", "num", "flat", "house"):
                return None
        return None

    def _landmark(self, words: list[str], streets: _Streets, street_match) -> PlaceGuess | None:
        taken = set(range(street_match[0], street_match[1])) if street_match else set()
        found: list[tuple[int, int]] = []
        for start, word in enumerate(words):
            for alias_words, row_id in streets.landmarks_by_word.get(word, ()):
                size = len(alias_words)
                if tuple(words[start:start + size]) == alias_words and not taken & set(range(start, start + size)):
                    found.append((size, row_id))
        if not found:
            return None
        size = max(found)[0]
        ids = list(dict.fromkeys(row_id for length, row_id in found if length == size))
        rows = [self.db.conn.execute("SELECT uprn, address, postcode, lat, lon FROM addresses WHERE id = ?",
                                     (row_id,)).fetchone() for row_id in ids[:MAX_CHOICES]]
        places = tuple(Place(*row) for row in rows if row)
        return PlaceGuess("address" if len(places) == 1 else "addresses", places=places)

    # -- both ---------------------------------------------------------------------------------

    def recognise(self, text: str, language: str | None = None) -> Recognition:
        """What and where a message from a resident who chose `language` says (see the class)."""
        text = clean_text(text)[:1600]
        place = self.place(text)
        ignore = frozenset(_tokens(" ".join(place.candidates()))) if place else frozenset()
        code, score = self.service(text, ignore, language)
        if code is None and ignore:
            # The place's words may be the service's too ("lamp post outside Lamp Post Lane"),
            # but then only a close match counts: "12 High Street" is a place, not a street light.
            code, score = self.service(text, language=language)
            if score < RETRY_CUTOFF:
                code, score = None, 0.0
        attributes = self.attributes(code, text, language or "en", ignore) if code else {}
        return Recognition(code, score, place, attributes)

    def attributes(self, code: str, text: str, language: str, ignore: frozenset[str] = frozenset()) -> dict[str, str]:
        """Single-choice answers the message gives away ("missed recycling bin" -> recycling),
        taken only when one word or pair of words is exactly one choice's key or label."""
        choosing = self._choices(code, language)
        if not choosing:
            return {}
        t = translator(language)
        words = [word for word in _tokens(text) if not word.isdigit() and len(word) >= 3 and word not in ignore]
        grams = words + [f"{a} {b}" for a, b in zip(words, words[1:])]
        found: dict[str, str] = {}
        for question, names in choosing:
            keys = set()
            for gram in grams:
                if plain(gram) not in names:
                    continue
                try:
                    keys.add(validate(question, gram, translate=t.gettext))
                except Invalid:
                    continue
            keys.discard("other")
            if len(keys) == 1:
                found[question.key] = keys.pop()
        return found

    def _choices(self, code: str, language: str) -> list[tuple[Question, frozenset[str]]]:
        """The service's single-choice questions (not yes or no) with the folded names of their
        choices in `language` and English: only words among them go to the flow's validation,
        which decides. Worked out once per service and language."""
        key = (code, language)
        if key not in self._choosing:
            service = self.catalogue.get(code)
            t = translator(language)
            self._choosing[key] = [
                (question, frozenset(plain(name) for choice in question.choices
                                     for name in (choice.key, choice.label, t(choice.label))))
                for question in (questions(service) if service else [])
                if question.kind == "singlevaluelist" and not {choice.key for choice in question.choices} <= {"yes", "no"}]
        return self._choosing[key]
