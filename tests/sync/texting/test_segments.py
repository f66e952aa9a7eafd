"""Segment counting (GSM-7 with its extension table, UCS-2 in UTF-16 units) and normalisation."""

from __future__ import annotations

from sync.texting.segments import encoding, normalise, segments, units


def test_segments_gsm_extension_and_ucs2(store):
    assert segments("") == 0 and segments("a" * 160) == 1 and segments("a" * 161) == 2
    assert segments("a" * 306) == 2 and segments("a" * 307) == 3
    assert segments("{" * 80) == 1 and segments("{" * 81) == 2  # extension characters count twice
    assert segments("a" * 152 + "€" + "a" * 10) == 2
    assert segments("ŵ" * 70) == 1 and segments("ŵ" * 71) == 2
    assert segments("ŵ" * 134) == 2 and segments("ŵ" * 135) == 3
    assert units("😀") == 2 and segments("😀" * 35) == 1 and segments("😀" * 36) == 2
    assert encoding("Café é") == "GSM-7" and encoding("Caf\u0065\u0301") == "UCS-2"
    assert encoding(normalise("Caf\u0065\u0301")) == "GSM-7"


def test_normalising_keeps_text_out_of_ucs2_for_nothing_and_keeps_welsh_letters():
    smart = "It\u2019s \u201cfixed\u201d \u2013 thanks\u2026\u00a0\u200b"
    assert normalise(smart) == "It's \"fixed\" - thanks... "
    assert encoding(normalise(smart)) == "GSM-7"
    assert normalise("Diolch – mae’r gŵr yn ôl") == "Diolch - mae'r gŵr yn ôl"
    assert encoding(normalise("gŵr")) == "UCS-2"
