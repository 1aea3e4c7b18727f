"""Invoices and credit notes as PDF documents: the seller and the buyer, the number and date, each line with its VAT
rate, net, VAT and gross, and the totals by rate — in the booking's language, letters of any alphabet shaped as for
the e-tickets (DejaVu Sans through HarfBuzz). fpdf2 is imported when a document is made (see notifications.etickets).
"""

from __future__ import annotations

import json

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from kernel import l10n
from kernel.money import format_money
from notifications.documents import digest, document_kept
from notifications.etickets import FAMILY, GREY, MARGIN, columns, new_document, right_to_left, start
from payments.models import Invoice

LINK_SALT = "maritime.invoice-link"
LINK_SECONDS = 24 * 3600


def invoice_link(invoice: Invoice) -> str:
    """The PDF's address with a key that opens it for a day without other credentials (an app opens it in a
    viewer, which sends no Token)."""
    key = signing.TimestampSigner(salt=LINK_SALT).sign(invoice.number)
    path = reverse("invoice_download", args=[invoice.booking.reference, invoice.number])
    return f"{settings.SITE_URL}{path}?key={key}"


def invoice_link_opens(key: str, invoice: Invoice) -> bool:
    try:
        return signing.TimestampSigner(salt=LINK_SALT).unsign(key, max_age=LINK_SECONDS) == invoice.number
    except signing.BadSignature:
        return False


def invoice_pdf(invoice: Invoice) -> bytes:
    """The document in the active language: made once, then kept (notifications.documents) — it never changes once
    issued, so what is served afterwards is the very file first made."""
    language = translation.get_language() or invoice.booking.language
    issued = [invoice.number, invoice.kind, invoice.issued_at.isoformat(), invoice.currency, invoice.seller,
              invoice.buyer, invoice.lines, invoice.total_minor, invoice.booking.reference]  # fmt: skip
    return document_kept(
        kind="invoice", folder=f"invoices/{invoice.booking.reference}", series=f"{invoice.number}-{language}",
        version=digest(issued), render=lambda: invoice_render(invoice),
    )  # fmt: skip


def invoice_render(invoice: Invoice) -> bytes:
    """The PDF, made now."""
    from fpdf import FontFace

    title = _("Credit note") if invoice.kind == Invoice.Kind.CREDIT_NOTE else _("Invoice")
    shown = [invoice.seller, invoice.buyer, invoice.lines, invoice.booking.reference]  # what varies, for the fonts
    text = json.dumps(shown, ensure_ascii=False, default=str)
    pdf = new_document(
        title=f"{title} {invoice.number}", language=invoice.booking.language, text=text, dated=invoice.issued_at
    )
    pdf.add_page()
    pdf.set_font(FAMILY, "B", 18)
    pdf.cell(0, 10, f"{title} {invoice.number}", align=start(), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, "", 10)
    issued = l10n.medium_date(invoice.issued_at)
    date, reference = _("Date"), _("Booking reference")  # never inside an f-string: xgettext does not look there
    pdf.cell(0, 6, f"{date}: {issued} · {reference}: {invoice.booking.reference}",
             align=start(), new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    pdf.ln(4)
    top = pdf.get_y()
    half = (pdf.w - 2 * MARGIN) / 2
    rtl = right_to_left()  # the seller first, at the start side: on the right in a right-to-left language
    _party(pdf, _("From"), _seller_lines(invoice.seller), x=MARGIN + half + 4 if rtl else MARGIN, width=half - 4)
    left_bottom = pdf.get_y()
    pdf.set_y(top)
    _party(pdf, _("To"), _buyer_lines(invoice.buyer), x=MARGIN if rtl else MARGIN + half, width=half)
    pdf.set_y(max(left_bottom, pdf.get_y()) + 6)
    money = lambda minor: format_money(minor, invoice.currency)  # noqa: E731
    pdf.set_font(FAMILY, "", 9.5)
    headings = FontFace(emphasis="BOLD")
    # Columns from the start side: the description first, the amounts after it (mirrored right to left).
    start_side, end_side = ("RIGHT", "LEFT") if rtl else ("LEFT", "RIGHT")
    aligns = tuple(columns([start_side] + [end_side] * 4))  # the text at the start, the amounts at the end
    with pdf.table(col_widths=tuple(columns([86, 20, 26, 24, 26])), headings_style=headings, line_height=6,
                   text_align=aligns) as table:  # fmt: skip
        table.row(columns([_("Description"), _("VAT rate"), _("Net"), _("VAT"), _("Total")]))
        for line in invoice.lines:
            table.row(columns([line["description"], f"{line['vat_percent']} %", money(line["net_minor"]),
                              money(line["vat_minor"]), money(line["gross_minor"])]))  # fmt: skip
    pdf.ln(4)
    pdf.set_font(FAMILY, "", 10)
    for rate, (net, vat) in _by_rate(invoice.lines).items():
        text = _("VAT at %(rate)s %%: %(vat)s on %(net)s") % {"rate": rate, "vat": money(vat), "net": money(net)}
        pdf.cell(0, 6, text, align="L" if rtl else "R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, "B", 12)
    total = _("Total refunded") if invoice.kind == Invoice.Kind.CREDIT_NOTE else _("Total paid")
    pdf.cell(0, 8, f"{total}: {money(invoice.total_minor)}", align="L" if rtl else "R", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _party(pdf, heading: str, lines: list[str], *, x: float, width: float) -> None:
    pdf.set_x(x)
    pdf.set_font(FAMILY, "B", 9.5)
    pdf.set_text_color(*GREY)
    pdf.cell(width, 6, heading, align=start(), new_x="LEFT", new_y="NEXT")
    pdf.set_text_color(0)
    pdf.set_font(FAMILY, "", 10)
    for line in lines:
        pdf.set_x(x)
        pdf.multi_cell(width, 5.5, line, align=start(), new_x="LEFT", new_y="NEXT")


def _seller_lines(seller: dict) -> list[str]:
    vat = seller.get("vat_number") and _("VAT number") + ": " + seller["vat_number"]
    return [line for line in (seller.get("name"), seller.get("address"), vat, seller.get("registration")) if line]


def _buyer_lines(buyer: dict) -> list[str]:
    vat = buyer.get("vat_number") and _("VAT number") + ": " + buyer["vat_number"]
    return [line for line in (buyer.get("company"), buyer.get("name"), buyer.get("address"), vat) if line]


def _by_rate(lines: list[dict]) -> dict[str, tuple[int, int]]:
    totals: dict[str, tuple[int, int]] = {}
    for line in lines:
        net, vat = totals.get(line["vat_percent"], (0, 0))
        totals[line["vat_percent"]] = (net + line["net_minor"], vat + line["vat_minor"])
    return totals
