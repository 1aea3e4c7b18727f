import datetime as dt
import io
import json
import re
import shutil
import unicodedata
from pathlib import Path

import pytest
import zxingcpp
from babel.messages.pofile import read_po
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import translation
from fontTools import subset
from fontTools.ttLib import TTFont
from pypdf import PdfReader

from bookings.models import Booking
from bookings.selectors import BROWSER_SESSION_KEY
from bookings.tests.factories import ADULT, CHILD, held_booking
from bookings.tickets import ticket_verify
from ferries.services import sailing_schedule
from ferries.tests.factories import FareFactory, OperatorFactory, PortFactory, RouteFactory, VesselFactory
from kernel import l10n
from kernel.money import format_money
from notifications import typefaces
from notifications.etickets import FAMILY, eticket_facts, eticket_pdf, new_document

pytestmark = pytest.mark.django_db


def browser_with(booking) -> Client:
    client = Client()
    session = client.session
    session[BROWSER_SESSION_KEY] = [booking.reference]
    session.save()
    return client


def confirmed(**kwargs):
    return marked_confirmed(held_booking(**kwargs))


def marked_confirmed(booking: Booking) -> Booking:
    """The booking confirmed, read again as whoever shows its e-tickets reads it: the booking `held_booking` hands
    back carries the rows it was made with, and would not see later changes to them."""
    Booking.objects.filter(pk=booking.pk).update(status=Booking.Status.CONFIRMED)
    return Booking.objects.get(pk=booking.pk)


def test_the_e_tickets_of_a_confirmed_booking_download_from_its_page():
    booking = confirmed()
    browser = browser_with(booking)

    page = browser.get(f"/bookings/{booking.reference}").content.decode()
    pdf = browser.get(f"/bookings/{booking.reference}/e-tickets.pdf")

    assert f"/bookings/{booking.reference}/e-tickets.pdf" in page
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf["Content-Disposition"] == f'attachment; filename="e-ticket-{booking.reference}.pdf"'
    assert pdf.content.startswith(b"%PDF")


def test_no_e_tickets_before_confirmation_nor_for_another_browser():
    held = held_booking()
    booking = confirmed()

    assert browser_with(held).get(f"/bookings/{held.reference}/e-tickets.pdf").status_code == 404
    assert Client().get(f"/bookings/{booking.reference}/e-tickets.pdf").status_code == 404


# --- the PDF: every alphabet of our routes, and what the crew checks at boarding ---------------------------------

PASSENGERS = [
    {**ADULT, "first_name": "محمد", "last_name": "الطرابلسي", "nationality": "TN", "document_number": "TN1234567"},
    {**ADULT, "first_name": "Łukasz", "last_name": "Wiśniewski", "nationality": "PL", "document_number": "EA7654321"},
    {
        **ADULT,
        "first_name": "Γιώργος",
        "last_name": "Παπαδόπουλος",
        "nationality": "GR",
        "document_number": "AK1122334",
    },
    {**ADULT, "first_name": "יוסף", "last_name": "כהן", "nationality": "IL", "document_number": "IL3344556"},
]
NAMES = ["محمد الطرابلسي", "Łukasz Wiśniewski", "Γιώργος Παπαδόπουλος", "יוסף כהן"]
CAR = {"category": "car", "registration": "123 TU 4567", "length_cm": 450, "height_cm": 160}
# Tunis keeps CET all year; Marseille is on CEST in July.
DEPARTS = dt.datetime(2030, 7, 1, 17, 0, tzinfo=dt.UTC)


def pages_of(pdf: bytes) -> list[str]:
    """Each page's text as a reader copying it gets it, in logical order and with letters in their plain forms.

    A PDF draws right-to-left text in visual order; the extractor puts each right-to-left run back in logical order
    (text drawn unshaped, in logical order, comes out reversed). NFKC folds Arabic presentation forms, should an
    extractor give them, back into the letters they shape; whitespace runs become one space.
    """
    pages = PdfReader(io.BytesIO(pdf)).pages
    return [" ".join(unicodedata.normalize("NFKC", page.extract_text()).split()) for page in pages]


def shows(page: str, label: str, value: str) -> bool:
    return re.search(re.escape(label) + r":?\s*" + re.escape(value), page) is not None


def embedded_characters(pdf: bytes) -> set[str]:
    """The characters the PDF's embedded fonts draw: shaped Arabic brings the forms its letters take when joined."""
    characters = set()
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for font in page["/Resources"]["/Font"].values():
            for descendant in font.get_object().get("/DescendantFonts", []):
                program = descendant.get_object()["/FontDescriptor"]["/FontFile2"].get_object().get_data()
                characters |= {chr(code) for code in TTFont(io.BytesIO(program)).getBestCmap()}
    return characters


def confirmed_return(*, passengers=None, **kwargs) -> Booking:
    """Tunis → Marseille with Compagnie Tunisienne de Navigation, back eight days later with Corsica Linea."""
    tunis = PortFactory(
        code="TNTUN",
        name="Tunis (La Goulette)",
        terminal="Gare maritime de La Goulette",
        terminal_address="Port de La Goulette, 2060 La Goulette",
        check_in_closes_minutes=180,
    )
    marseille = PortFactory(code="FRMRS", name="Marseille", terminal="Terminal Cap Janet",
                            terminal_address="Chemin du Littoral, 13015 Marseille")  # fmt: skip
    ctn = OperatorFactory(code="CTN", name="Compagnie Tunisienne de Navigation", check_in_closes_minutes=120)
    cln = OperatorFactory(code="CLN", name="Corsica Linea", check_in_closes_minutes=90)
    outbound = sailing_schedule(
        route=RouteFactory(operator=ctn, origin=tunis, destination=marseille),
        vessel=VesselFactory(operator=ctn, name="Tanit"), ref="CTN3007011800TUNMRS",
        departs_at=DEPARTS, arrives_at=DEPARTS + dt.timedelta(hours=21, minutes=30),
    )  # fmt: skip
    back = DEPARTS + dt.timedelta(days=8, hours=1)
    inbound = sailing_schedule(
        route=RouteFactory(operator=cln, origin=marseille, destination=tunis),
        vessel=VesselFactory(operator=cln, name="Jean Nicoli"), ref="CLN3007092000MRSTUN",
        departs_at=back, arrives_at=back + dt.timedelta(hours=22),
    )  # fmt: skip
    for sailing in (outbound, inbound):
        FareFactory(route=sailing.route, valid_from=dt.date(2030, 1, 1), valid_to=dt.date(2030, 12, 31))
    return marked_confirmed(held_booking(outbound, inbound, passengers=passengers or [ADULT, CHILD], **kwargs))


def test_names_in_every_alphabet_of_our_routes_come_out_of_the_e_ticket_as_written():
    booking = confirmed(passengers=PASSENGERS)

    [page] = pages_of(eticket_pdf(booking))

    for name in NAMES:
        assert unicodedata.normalize("NFKC", name) in page
    assert "Adult (12–64)" in page
    assert "?" not in page


def test_arabic_names_are_drawn_with_their_letters_joined():
    booking = confirmed()
    booking.passengers.update(first_name="محمد", last_name="الطرابلسي")

    drawn = embedded_characters(eticket_pdf(booking))

    # محمد joined: meem initial, hah medial, meem medial, dal final (Unicode's Arabic presentation forms).
    assert {"\ufee3", "\ufea4", "\ufee4", "\ufeaa"} <= drawn


def test_names_in_latin_greek_and_cyrillic_come_out_as_written_from_an_e_ticket_made_without_text_shaping():
    names = {"Łukasz": "Wiśniewski", "Γιώργος": "Παπαδόπουλος", "Пётр": "Иванов"}
    passengers = [{**ADULT, "first_name": first, "last_name": last} for first, last in names.items()]
    booking = confirmed(passengers=passengers)

    [page] = pages_of(eticket_pdf(booking))

    assert not typefaces.shaped(json.dumps(eticket_facts(booking), ensure_ascii=False, default=str))
    for first, last in names.items():
        assert f"{first} {last}" in page
    assert "?" not in page


def test_text_is_shaped_where_a_script_needs_it_only():
    assert not typefaces.shaped("Łukasz Wiśniewski · Γιώργος · Пётр · 170,00 € → 30 juil. 2030, 18:05\n")
    for needing in ("محمد", "יוסף", "Zoe\u0308", "ნინო"):  # joined letters, right to left, a combining mark, Georgian
        assert typefaces.shaped(f"Łukasz {needing}"), needing
    assert typefaces.shaped(None)  # a document that does not say what it shows


def test_the_bundled_fonts_have_a_glyph_for_every_letter_these_tests_print():
    letters = set("".join(NAMES) + "Adult (12–64) Child (4–11) → × · — ’") - {" "}

    for path in [*typefaces.WHOLE.values(), *typefaces.CUT.values()]:
        cmap = TTFont(path).getBestCmap()
        assert {letter for letter in letters if ord(letter) not in cmap} == set(), path.name


def test_a_name_in_an_alphabet_the_cut_fonts_leave_out_is_drawn_with_the_whole_fonts():
    booking = confirmed()
    booking.passengers.update(first_name="ნინო", last_name="ბერიძე")  # Georgian
    georgian = set("ნინობერიძე")
    assert not georgian & {chr(code) for code in typefaces.KEPT}

    drawn = embedded_characters(eticket_pdf(booking))

    assert georgian <= drawn


def test_the_fonts_are_chosen_by_every_character_a_document_shows():
    assert typefaces.font_files("Łukasz Wiśniewski · Ștefan · „Zoë“ · 170,00 € → 18:05 − 5,00 €\n") == typefaces.LATIN
    assert typefaces.font_files("Łukasz Wiśniewski · Γιώργος · Пётр · 170,00 € → 18:05\n") == typefaces.PLAIN
    assert typefaces.font_files("Nguyễn Thị Ánh") == typefaces.PLAIN  # Latin Extended Additional: the plain cut's
    assert typefaces.font_files("Łukasz Wiśniewski · محمد · Γιώργος · יוסף · Пётр · 170,00 €\n") == typefaces.CUT
    assert typefaces.font_files("Zoe\u0308 Łukasz") == typefaces.CUT  # a combining mark: shaped
    assert typefaces.font_files("Łukasz and ნინო") == typefaces.WHOLE
    assert typefaces.font_files(None) == typefaces.WHOLE  # a document that does not say what it shows


def test_the_plain_fonts_draw_every_character_a_document_made_without_shaping_may_show_and_have_no_layout_tables():
    for style, path in typefaces.PLAIN.items():
        font = TTFont(path)
        assert set(font.getBestCmap()) == typefaces.characters(typefaces.WHOLE[style]) & typefaces.PLAIN_KEPT
        assert not set(typefaces.SHAPING_TABLES) & set(font.keys()), path.name  # kern: read when shaping only
        assert len(font.getGlyphOrder()) < len(TTFont(typefaces.CUT[style]).getGlyphOrder()) * 0.8
    for style, path in typefaces.LATIN.items():
        font = TTFont(path)
        assert set(font.getBestCmap()) == typefaces.characters(typefaces.WHOLE[style]) & typefaces.LATIN_KEPT
        assert typefaces.LATIN_KEPT < typefaces.PLAIN_KEPT
        assert not set(typefaces.SHAPING_TABLES) & set(font.keys()), path.name
        assert len(font.getGlyphOrder()) < len(TTFont(typefaces.PLAIN[style]).getGlyphOrder()) * 0.4
    assert {"GSUB", "GPOS"} <= set(TTFont(typefaces.CUT[""]).keys())  # the cut ones keep them, for shaping


def test_a_document_needing_no_shaping_is_made_with_the_smallest_fonts_drawing_it_and_one_in_arabic_with_shaping():
    latin = new_document(title="E-ticket", language="en", text="Łukasz Wiśniewski → 18:05")
    greek = new_document(title="E-ticket", language="en", text="Łukasz Wiśniewski · Γιώργος · Пётр → 18:05")
    arabic = new_document(title="E-ticket", language="ar", text="محمد الصغير")

    assert {font.ttffile for font in latin.fonts.values()} == set(typefaces.LATIN.values())
    assert not latin.text_shaping
    assert {font.ttffile for font in greek.fonts.values()} == set(typefaces.PLAIN.values())
    assert not greek.text_shaping
    assert {font.ttffile for font in arabic.fonts.values()} == set(typefaces.CUT.values())
    assert arabic.text_shaping


def embedded_fonts(pdf: bytes) -> dict[str, dict]:
    """Each embedded font by its PDF name: its glyphs (name → outline's bytes), its character map, its widths."""
    fonts = {}
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for font in page["/Resources"]["/Font"].values():
            for descendant in font.get_object()["/DescendantFonts"]:
                descendant = descendant.get_object()
                program = TTFont(io.BytesIO(descendant["/FontDescriptor"]["/FontFile2"].get_object().get_data()))
                glyf = program["glyf"]
                fonts[str(descendant["/BaseFont"])] = {
                    "glyphs": {name: glyf[name].compile(glyf, recalcBBoxes=False) for name in program.getGlyphOrder()},
                    "characters": program.getBestCmap(),
                    "widths": list(descendant["/W"]),
                }
    return fonts


@pytest.mark.parametrize("text", ["Łukasz Wiśniewski · Γιώργος · Пётр → 18:05", "محمد الصغير · יוסף", "ნინო"])
def test_a_document_made_from_the_fonts_read_once_a_process_is_the_one_fpdf2_makes_reading_them_itself(text):
    def made(text: str, *, read_by_fpdf2: bool = False) -> bytes:
        pdf = new_document(title="E-ticket", language="en", text=text, dated=DEPARTS)
        if read_by_fpdf2:  # the same document, each font read by fpdf2 for it alone
            files = {font.emphasis.style: font.ttffile for font in pdf.fonts.values()}
            pdf.fonts.clear()
            for style, path in files.items():
                pdf.add_font(FAMILY, style, path)
        pdf.add_page()
        for style in ("", "B"):
            pdf.set_font(FAMILY, style, 12)
            pdf.multi_cell(0, 8, text, new_x="LMARGIN", new_y="NEXT")
        return bytes(pdf.output())

    document = made(text)
    made("Zoë Ångström · Ωμέγα · Жанна")  # another document between: what it uses and cuts is its own
    assert made(text) == document
    theirs = made(text, read_by_fpdf2=True)
    assert pages_of(document) == pages_of(theirs)
    assert text.split()[0] in pages_of(document)[0]
    # The same glyphs, outlines, characters and widths embedded: only what fpdf2 works out again from the outlines
    # (the font's overall bounding box) may differ.
    assert embedded_fonts(document) == embedded_fonts(theirs)
    assert len(embedded_fonts(document)) == 2


def shown_besides_facts(languages: list[str]) -> str:
    """What a document shows besides its facts in `languages`: our catalogues' translations (and their English
    originals), prices and dates in each."""
    words = []
    for language in languages:
        with Path(settings.BASE_DIR, "locale", language, "LC_MESSAGES", "django.po").open("rb") as file:
            for message in read_po(file):
                strings = message.string if isinstance(message.string, tuple) else (message.string,)
                words += [*strings, *(message.id if isinstance(message.id, tuple) else (message.id,))]
    moment = dt.datetime(2030, 7, 30, 18, 5, tzinfo=dt.UTC)
    for language in ["en", *languages]:
        with translation.override(language):
            words += [format_money(1234567, currency, language) for currency in ("EUR", "TND", "MAD", "GBP")]
            words += [format_money(-1234567, "EUR", language)]  # a credit note's line
            words += [l10n.day_year_time(moment), l10n.medium_date(moment.date()), l10n.medium_date_time(moment)]
    return "".join(words)


TRANSLATED = sorted(code for code, _name in settings.LANGUAGES if code != "en")


def test_every_word_of_our_languages_and_their_money_and_dates_is_drawn_by_the_cut_fonts():
    characters = set(shown_besides_facts(TRANSLATED)) - typefaces.LAID_OUT

    for path in typefaces.CUT.values():
        cmap = TTFont(path).getBestCmap()
        assert {char for char in characters if ord(char) not in cmap} == set(), path.name
    assert typefaces.font_files(shown_besides_facts(TRANSLATED)) == typefaces.CUT


@pytest.mark.parametrize("language", [code for code in TRANSLATED if code != "ar"])
def test_what_a_document_in_a_language_written_in_latin_letters_shows_is_drawn_by_the_latin_fonts(language):
    shown = shown_besides_facts([language]) + "Łukasz Wiśniewski · Ștefan Țurcanu · Zoë Müller-Łęcka · İlkay Şahin"

    assert typefaces.font_files(shown) == typefaces.LATIN
    for path in typefaces.LATIN.values():
        cmap = TTFont(path).getBestCmap()
        assert {char for char in set(shown) - typefaces.LAID_OUT if ord(char) not in cmap} == set(), path.name


def test_the_cut_fonts_in_place_are_those_the_command_makes_and_the_check_tells_a_stale_one(tmp_path, monkeypatch):
    call_command("cut_fonts", "--check", stdout=io.StringIO())  # the fonts committed: as made from the whole ones

    def cuts(regular: Path, bold: Path) -> tuple[typefaces.Cut, ...]:
        plain = {"": tmp_path / "plain.ttf", "B": tmp_path / "plain-bold.ttf"}
        return typefaces.Cut({"": regular, "B": bold}, typefaces.KEPT, layout=True), typefaces.Cut(
            plain, typefaces.PLAIN_KEPT, layout=False
        )

    stale, missing, kept = tmp_path / "stale.ttf", tmp_path / "missing.ttf", typefaces.CUT[""]
    shutil.copy(typefaces.WHOLE[""], stale)  # every glyph: not cut
    for name in ("plain.ttf", "plain-bold.ttf"):
        shutil.copy(typefaces.PLAIN["" if name == "plain.ttf" else "B"], tmp_path / name)
    monkeypatch.setattr(typefaces, "CUTS", cuts(stale, missing))
    with pytest.raises(CommandError, match=r"stale\.ttf is out of date"):
        call_command("cut_fonts", "--check", stdout=io.StringIO())
    monkeypatch.setattr(typefaces, "CUTS", cuts(kept, missing))
    with pytest.raises(CommandError, match=r"missing\.ttf is missing"):
        call_command("cut_fonts", "--check", stdout=io.StringIO())
    monkeypatch.setattr(typefaces, "CUTS", cuts(stale, missing))
    (tmp_path / "plain-bold.ttf").unlink()
    call_command("cut_fonts", stdout=io.StringIO())
    call_command("cut_fonts", "--check", stdout=io.StringIO())
    assert stale.stat().st_size < typefaces.WHOLE[""].stat().st_size / 2
    assert missing.stat().st_size < typefaces.WHOLE["B"].stat().st_size / 2
    assert (tmp_path / "plain-bold.ttf").read_bytes() == typefaces.PLAIN["B"].read_bytes()


def test_the_cut_fonts_carry_no_hinting_and_the_check_tells_a_cut_still_hinted(tmp_path, monkeypatch):
    for cut in typefaces.CUTS:
        for path in cut.files.values():
            tables = set(TTFont(path).keys())
            assert tables & set(typefaces.HINTING_TABLES) == set(), path.name
            glyphs = TTFont(path)["glyf"]
            assert not any(glyphs[name].program.getBytecode() for name in ("a", "Z", "zero")), path.name
    hinted = tmp_path / "hinted.ttf"
    options = subset.Options(layout_features=[], notdef_outline=True, glyph_names=True)  # hinting kept, by default
    font = TTFont(typefaces.WHOLE[""])
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(typefaces.LATIN_KEPT))
    subsetter.subset(font)
    font.save(hinted)  # the characters of the Latin cut, as the check expects them, but hinted
    bold = shutil.copy(typefaces.LATIN["B"], tmp_path / "bold.ttf")
    latin = typefaces.Cut({"": hinted, "B": bold}, typefaces.LATIN_KEPT, layout=False)
    monkeypatch.setattr(typefaces, "CUTS", (latin,))

    with pytest.raises(CommandError, match=r"hinted\.ttf is out of date \(hinted: fpgm, prep, cvt\)"):
        call_command("cut_fonts", "--check", stdout=io.StringIO())
    call_command("cut_fonts", stdout=io.StringIO())
    call_command("cut_fonts", "--check", stdout=io.StringIO())
    assert typefaces.hinting(hinted) == []
    assert hinted.read_bytes() == typefaces.LATIN[""].read_bytes()  # made again as the committed cut


def test_each_leg_page_is_a_boarding_document_in_port_time():
    booking = confirmed_return(vehicle=CAR, pets=1, accommodation="inside_2")
    booking.legs.filter(direction="outbound").update(operator_booking_ref="CTNX42")

    outbound, inbound = pages_of(eticket_pdf(booking))

    assert booking.reference in outbound
    assert booking.reference in inbound
    # Out of Tunis at 18:00 (CET), in Marseille at 16:30 (CEST) the next day; check-in closes the port's 3 hours before.
    for label, value in [
        ("Operator", "Compagnie Tunisienne de Navigation"),
        ("Vessel", "Tanit"),
        ("Sailing", "CTN3007011800TUNMRS"),
        ("Operator reference", "CTNX42"),
        ("Departs", "Mon, 1 Jul 2030, 18:00"),
        ("Arrives", "Tue, 2 Jul 2030, 16:30"),
        ("Check-in closes", "Mon, 1 Jul 2030, 15:00"),
        ("Terminal", "Gare maritime de La Goulette, Port de La Goulette, 2060 La Goulette"),
        ("Pets", "1"),
        ("On board", "Inside cabin, 2 berths"),
        ("Vehicle", "Car · 123 TU 4567 · 450 × 160 cm"),
    ]:
        assert shows(outbound, label, value), (label, value, outbound)
    for text in ("Tunis (La Goulette)", "Marseille", "Amira Ben Salah", "Adult (12–64)", "Youssef Ben Salah",
                 "Child (4–11)", "X1234567"):  # fmt: skip
        assert text in outbound
    # Back from Marseille at 20:00 (CEST) with Corsica Linea, whose check-in closes an hour and a half before.
    for label, value in [
        ("Operator", "Corsica Linea"),
        ("Vessel", "Jean Nicoli"),
        ("Sailing", "CLN3007092000MRSTUN"),
        ("Departs", "Tue, 9 Jul 2030, 20:00"),
        ("Check-in closes", "Tue, 9 Jul 2030, 18:30"),
        ("Terminal", "Terminal Cap Janet, Chemin du Littoral, 13015 Marseille"),
    ]:
        assert shows(inbound, label, value), (label, value, inbound)
    assert "Operator reference" not in inbound


def test_a_booking_without_pets_or_vehicle_says_so_on_its_e_ticket():
    [page, _back] = pages_of(eticket_pdf(confirmed_return()))

    assert shows(page, "Pets", "None")
    assert shows(page, "Vehicle", "None")
    assert shows(page, "On board", "Deck passage")


def test_each_leg_page_carries_one_qr_code_that_a_scanner_reads_as_that_legs_signed_ticket():
    booking = confirmed_return()

    pages = PdfReader(io.BytesIO(eticket_pdf(booking))).pages

    assert len(pages) == 2
    for page, direction in zip(pages, ["outbound", "return"], strict=True):
        [image] = page.images
        [barcode] = zxingcpp.read_barcodes(image.image)
        assert barcode.format == zxingcpp.BarcodeFormat.QRCode
        assert ticket_verify(barcode.text) == {"booking": booking.reference, "leg": direction, "v": 1}
