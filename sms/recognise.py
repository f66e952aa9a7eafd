"""Understanding a one-shot text: which service, and where.

"missed bin 12 High St", "pothole outside 4 Station Road", "fly tipping behind the library":

* **The service** comes from the catalogue's keywords (English, and each language's own list,
  which translators write as the words people really use) and the service names, matched with
  rapidfuzz against the message's words after text-speak and filler words are normalised on
  both sides ("bins wasnt collected" meets "bins not collected"). Longer phrases win over shorter
  ones, exact over near misses; a phrase whose words are all in the message, apart or in another
  order ("bin ... never emptied"), counts as a near miss of its length; among equals, the one
  mentioned first.
* **The place** comes from the gazetteer (sms/places.py); several candidates are offered as
  numbered choices by the bot, never guessed.

Nothing here writes: the bot asks only what is missing, and reads everything back before sending.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable

from locales import N_, translator
from sms.fuzzy import Fuzzy
from sms.keywords import WORD_CHAR, plain
from sms.places import PlaceGuess, Places
from sync.catalogue import Catalogue
from sync.catalogue_extract import keyword_message
from sync.flow import Invalid, Question, clean_text, questions, validate

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
#: A service found only among the place's own words needs this.
RETRY_CUTOFF = 90
#: Languages every message is read in, whatever the resident chose: English (what posters and
#: Twilio's own replies use) and Welsh, wherever it is offered (no less favourably than English).
ALWAYS_READ = ("en", "cy")
_WORD = re.compile(rf"{WORD_CHAR}+(?:['\u2019]{WORD_CHAR}+)*")


def words_of(text: str) -> list[str]:
    """Folded words with apostrophes taken out ("wasn't" -> wasnt)."""
    return [word.replace("'", "").replace("\u2019", "") for word in _WORD.findall(plain(text))]


#: Arabic's article and the particles written onto it ("والزبالة", "بالشارع"), taken off a word's front.
_ARABIC_ARTICLES = ("وال", "بال", "فال", "كال", "لل", "ال")
#: Bengali case endings and classifiers ("রাস্তায়", "রাস্তার", "বোতলটা"), longest first (folded, nukta off).
_BENGALI_ENDINGS = ("গুলো", "গুলি", "দের", "েতে", "তে", "টা", "টি", "কে", "ের", "য", "র")


def _stem(word: str) -> str:
    """A light stem, the same on both sides: tipped, tipping -> tip; dumped -> dump; Arabic's
    article and Bengali's case endings off (the script says which applies)."""
    first = word[:1]
    if "\u0600" <= first <= "\u06ff":
        return next((word[len(article):] for article in _ARABIC_ARTICLES
                     if word.startswith(article) and len(word) - len(article) >= 3), word)
    if "\u0980" <= first <= "\u09ff":
        return next((word[:-len(ending)] for ending in _BENGALI_ENDINGS
                     if word.endswith(ending) and len(word) - len(ending) >= 3), word)
    return _english_stem(word)


def _english_stem(word: str) -> str:
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


@dataclass(frozen=True)
class Recognition:
    service: str | None
    score: float
    place: PlaceGuess | None
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass
class _Vocabulary:
    """The keywords of some languages, ready to match: their words run together, the same in
    alphabetical order, and the words that belong to one service alone."""

    joined: Fuzzy
    sorted: Fuzzy
    distinctive: dict[str, str]
    scattered: dict[str, list[int]]  # a word of a keyword of several words -> those keywords


class Recogniser:
    """The service and place of one-shot messages, for a catalogue, a gazetteer and languages.

    A message is read for the keywords of English, of Welsh where it is offered (no less
    favourably than English), and of the resident's language; with no language given, of
    every language offered.
    """

    def __init__(self, db, catalogue: Catalogue, languages: Iterable[str], *, places: Places | None = None) -> None:
        """`places`: the store's gazetteer index, kept by the caller across catalogues (made here
        if not given)."""
        self.places = places if places is not None else Places(db)
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

    def reading(self, language: str | None, also: tuple[str, ...] = ()) -> tuple[str, ...]:
        """The languages a message from a resident who chose `language` is read in (and `also`
        those it seemed to be written in, for a first message kept while the language was asked)."""
        if language is None:
            return self.languages
        return tuple(code for code in dict.fromkeys((*ALWAYS_READ, language, *also)) if code in self.languages)

    def _vocabulary(self, languages: tuple[str, ...]) -> _Vocabulary:
        found = self._vocabularies.get(languages)
        if found is None:
            ids = [index for index, spoken in enumerate(self._spoken) if not spoken.isdisjoint(languages)]
            # Words of the keywords that belong to one service alone ("paving", "wagio"): weaker
            # evidence, used only when no whole keyword is mentioned.
            owners: dict[str, set[str]] = {}
            scattered: dict[str, list[int]] = {}
            for index in ids:
                for token in self.keywords[index].tokens:
                    owners.setdefault(token, set()).add(self.keywords[index].service)
                if len(self.keywords[index].tokens) > 1:
                    scattered.setdefault(self.keywords[index].tokens[0], []).append(index)
            found = self._vocabularies[languages] = _Vocabulary(
                Fuzzy([self.keywords[index].joined for index in ids], ids),
                Fuzzy([self.keywords[index].sorted_joined for index in ids], ids),
                {token: next(iter(services)) for token, services in owners.items()
                 if len(services) == 1 and len(token) >= DISTINCTIVE_MIN_CHARS}, scattered)
        return found

    # -- words ----------------------------------------------------------------------------------

    def _normalised(self, text: str) -> list[str]:
        words: list[str] = []
        for token in words_of(text):
            words += self.speak.get(token, token).split()
        return words

    def _service_tokens(self, text: str, ignore: frozenset[str] = frozenset()) -> list[str]:
        return [_stem(word) for word in self._normalised(text)
                if word not in self.fillers and word not in ignore and not any(char.isdigit() for char in word)]

    # -- the service ------------------------------------------------------------------------------

    def service(self, text: str, ignore: frozenset[str] = frozenset(),
                language: str | None = None, also: tuple[str, ...] = ()) -> tuple[str | None, float]:
        """The service a message is about and how sure (0-100), or (None, 0). Words in `ignore`
        (the place's, once found: "Station Road" is not about roads) are left out."""
        tokens = self._service_tokens(text, ignore)
        if not tokens:
            return None, 0.0
        vocabulary = self._vocabulary(self.reading(language, also))
        best: dict[str, tuple] = {}
        for size in range(1, min(4, len(tokens)) + 1):
            for start in range(0, len(tokens) - size + 1):
                for service, key in self._keyword_hits(vocabulary, tokens[start:start + size], start):
                    if key > best.get(service, (-1,)):
                        best[service] = key
        for service, key in self._scattered_hits(vocabulary, tokens):
            if key > best.get(service, (-1,)):
                best[service] = key
        best = best or self._distinctive(vocabulary, tokens)
        if not best:
            return None, 0.0
        code, key = max(best.items(), key=lambda item: item[1])
        return code, float(key[4])

    def _scattered_hits(self, vocabulary: _Vocabulary, tokens: list[str]):
        """(service, key) for each keyword of several words whose every word is in the message,
        though apart or in another order ("bin ... never emptied", "no tax on that car"): ranked
        as a near match of its length."""
        present = set(tokens)
        for token in present:
            for index in vocabulary.scattered.get(token, ()):
                keyword = self.keywords[index]
                if present.issuperset(keyword.tokens):
                    start = min(tokens.index(word) for word in keyword.tokens)
                    yield keyword.service, (1, len(keyword.tokens), 1, -start, 95.0, len(keyword.joined))

    @staticmethod
    def _distinctive(vocabulary: _Vocabulary, tokens: list[str]) -> dict[str, tuple]:
        """Services named only by a word of their own (weaker evidence: used when no whole
        keyword is mentioned), keyed as `service` ranks them."""
        best: dict[str, tuple] = {}
        for start, token in enumerate(tokens):
            if token in vocabulary.distinctive:
                key = (-1, 1, 0, -start, 80.0, len(token))
                if key > best.get(vocabulary.distinctive[token], (-2,)):
                    best[vocabulary.distinctive[token]] = key
        return best

    def _keyword_hits(self, vocabulary: _Vocabulary, window: list[str], start: int):
        """(service, key) for each keyword a window of words starting at `start` meets; the
        greatest key is the best: exact before near, longer phrases first, then the earliest."""
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
            yield keyword.service, (min(tier, 1), len(keyword.tokens), tier, -start, score, len(keyword.joined))

    def place(self, text: str) -> PlaceGuess | None:
        """Where the message says, from the gazetteer, or None."""
        return self.places.place(text)

    # -- both ---------------------------------------------------------------------------------

    def recognise(self, text: str, language: str | None = None, also: tuple[str, ...] = ()) -> Recognition:
        """What and where a message from a resident who chose `language` says (see the class);
        `also`: other languages it may be in (see `reading`)."""
        text = clean_text(text)[:1600]
        place = self.place(text)
        ignore = frozenset(words_of(" ".join(place.candidates()))) if place else frozenset()
        code, score = self.service(text, ignore, language, also)
        if code is None and ignore:
            # The place's words may be the service's too ("lamp post outside Lamp Post Lane"),
            # but then only a close match counts: "12 High Street" is a place, not a street light.
            code, score = self.service(text, language=language, also=also)
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
        words = [word for word in words_of(text) if not word.isdigit() and len(word) >= 3 and word not in ignore]
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
                if question.kind == "singlevaluelist"
                and not {choice.key for choice in question.choices} <= {"yes", "no"}]
        return self._choosing[key]
