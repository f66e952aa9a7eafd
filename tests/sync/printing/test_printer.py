"""The slip sent to a printer: a network printer on loopback that takes it, and the ways a printer
fails (refused, hung up, out of paper, a USB or serial device that is not there), each one
`PrinterUnavailable` with nothing half printed."""

from __future__ import annotations

import datetime as dt

import pytest

from sync.config import ConfigError, load_settings
from sync.printing import PrinterUnavailable, print_reference, printer
from sync.printing.address import PrinterAddress, parse_printer
from sync.printing.slip import Saved, compose
from tests.fake_printer import PAPER_QUESTION, FakePrinter, refused_address

SAVED = Saved("K7Q-4MB-XP9Z", "report", "Pothole", "Station Road", "en", dt.date(2026, 12, 6))


def settings_for(tmp_path, address: str):
    return load_settings(environ={"ASSIST_STORE__PATH": str(tmp_path / "assist.db"), "ASSIST_KIOSK__PRINTER": address})


def test_a_network_printer_gets_the_whole_slip_after_saying_it_has_paper(tmp_path):
    with FakePrinter("ready") as fake:
        settings = settings_for(tmp_path, fake.address)
        print_reference(settings, SAVED)
        assert fake.done.wait(5)
    expected = printer.slip_bytes(compose(settings, SAVED))
    assert bytes(fake.received) == PAPER_QUESTION + expected
    assert b"K7Q-4MB-XP9Z" in fake.received and fake.connections == 1


def test_a_printer_that_cannot_say_whether_it_has_paper_still_prints(tmp_path, monkeypatch):
    monkeypatch.setattr(printer, "STATUS_SECONDS", 0.2)
    with FakePrinter("silent") as fake:
        print_reference(settings_for(tmp_path, fake.address), SAVED)
        assert fake.done.wait(5)
    assert b"K7Q-4MB-XP9Z" in fake.received


def test_a_printer_out_of_paper_gets_nothing_more(tmp_path):
    with FakePrinter("no_paper") as fake:
        with pytest.raises(PrinterUnavailable, match="out of paper"):
            print_reference(settings_for(tmp_path, fake.address), SAVED)
        assert fake.done.wait(5)
    assert bytes(fake.received) == PAPER_QUESTION


def test_a_printer_that_hangs_up_is_unavailable(tmp_path):
    with FakePrinter("hang_up") as fake:
        with pytest.raises(PrinterUnavailable):
            print_reference(settings_for(tmp_path, fake.address), SAVED)


def test_a_printer_that_is_off_is_unavailable(tmp_path):
    with pytest.raises(PrinterUnavailable, match="DeviceNotFoundError"):
        print_reference(settings_for(tmp_path, refused_address()), SAVED)


@pytest.mark.parametrize("address", ["usb://dead:beef", "serial:///dev/ttyNOPRINTER0?baud=19200"])
def test_a_usb_or_serial_printer_that_is_not_there_is_unavailable(tmp_path, address):
    with pytest.raises(PrinterUnavailable):
        print_reference(settings_for(tmp_path, address), SAVED)


@pytest.mark.parametrize(("text", "expected"), [
    ("usb://04b8:0e15", PrinterAddress("usb", vendor=0x04B8, product=0x0E15)),
    ("serial:///dev/ttyUSB0?baud=19200", PrinterAddress("serial", device="/dev/ttyUSB0", baud=19200)),
    ("serial:///dev/ttyUSB0", PrinterAddress("serial", device="/dev/ttyUSB0", baud=9600)),
    ("tcp://192.0.2.10:9100", PrinterAddress("tcp", host="192.0.2.10", port=9100)),
    ("tcp://printer.library.example", PrinterAddress("tcp", host="printer.library.example", port=9100)),
])
def test_the_three_forms_of_kiosk_printer(text, expected):
    assert parse_printer(text) == expected


@pytest.mark.parametrize("text", ["usb://04b8", "usb://zzzz:0e15", "serial://ttyUSB0", "serial:///dev/ttyUSB0?baud=x",
                                  "tcp://", "tcp://host:99999", "lpt1", "http://printer:9100"])
def test_a_mistyped_printer_is_refused_when_the_settings_are_read(tmp_path, text):
    assert parse_printer(text) is None
    with pytest.raises(ConfigError, match="kiosk.printer.*usb://VENDOR:PRODUCT"):
        settings_for(tmp_path, text)
