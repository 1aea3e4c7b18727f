"""The fonts of our PDFs: DejaVu Sans, whole (notifications/fonts/), and cut down ahead to the scripts of the names,
places and languages on our routes (made from the whole ones by `manage.py cut_fonts`):

* `*-cut.ttf` draw every letter of Latin, Greek, Cyrillic, Hebrew and Arabic (with their joined forms), digits,
  punctuation and the symbols we print, and keep the layout tables text shaping reads (2.2 times fewer glyphs than
  the whole fonts);
* `*-plain.ttf` draw the same but Hebrew and Arabic, without layout tables (nor the legacy kerning table, which only
  text shaping reads): for the documents that need no shaping (28 % fewer glyphs again; a document made with them
  costs a fifth less CPU);
* `*-latin.ttf` draw the Latin letters of European names (Basic Latin, Latin-1, Latin Extended-A, the comma-below
  letters of Romanian) and the punctuation, currency signs, arrows and minus sign our documents print, without layout
  tables: for the documents written in Latin letters alone, most of them (570 glyphs against the plain cut's 2,005;
  a booking's two PDFs cost a quarter less CPU).

fpdf2 reads every glyph of a font it is given, for each document, before keeping only those the document uses: most
of a small PDF's CPU, so each document takes the smallest fonts that draw all it shows. A document whose text has a
character outside the cut fonts (a name in another alphabet) is made with the whole fonts, so nothing prints as a
blank box that would print with them. And a process reads each font once (`add_fonts`): a document starts from what
was read then, and only cutting the font down to its glyphs is done for each.
"""

import copy
import functools
import io
from dataclasses import dataclass
from pathlib import Path

FONTS = Path(__file__).resolve().parent / "fonts"
STYLES = {"": "DejaVuSans", "B": "DejaVuSans-Bold"}
WHOLE = {style: FONTS / f"{name}.ttf" for style, name in STYLES.items()}
CUT = {style: FONTS / f"{name}-cut.ttf" for style, name in STYLES.items()}
PLAIN = {style: FONTS / f"{name}-plain.ttf" for style, name in STYLES.items()}
LATIN = {style: FONTS / f"{name}-latin.ttf" for style, name in STYLES.items()}

# The Unicode blocks the cut fonts keep (first, last code point), and each one's name.
BLOCKS = (
    (0x0020, 0x007E, "Basic Latin"),
    (0x00A0, 0x024F, "Latin-1 Supplement, Latin Extended-A and -B"),
    (0x02B0, 0x036F, "Spacing Modifier Letters, Combining Diacritical Marks"),
    (0x0370, 0x03FF, "Greek and Coptic"),
    (0x0400, 0x052F, "Cyrillic and its Supplement"),
    (0x0590, 0x05FF, "Hebrew"),
    (0x0600, 0x06FF, "Arabic"),
    (0x0750, 0x077F, "Arabic Supplement"),
    (0x1E00, 0x1EFF, "Latin Extended Additional"),
    (0x2000, 0x206F, "General Punctuation"),
    (0x20A0, 0x20CF, "Currency Symbols"),
    (0x2100, 0x214F, "Letterlike Symbols"),
    (0x2190, 0x21FF, "Arrows"),
    (0x2200, 0x22FF, "Mathematical Operators"),
    (0x25A0, 0x25FF, "Geometric Shapes"),
    (0xFB1D, 0xFB4F, "Hebrew presentation forms"),
    (0xFB50, 0xFDFF, "Arabic Presentation Forms-A"),
    (0xFE70, 0xFEFF, "Arabic Presentation Forms-B"),
    (0xFFFD, 0xFFFD, "Replacement Character"),
)


def code_points(blocks) -> frozenset[int]:
    """Every code point of `blocks` ((first, last, name), both ends included)."""
    return frozenset(code for first, last, _name in blocks for code in range(first, last + 1))


KEPT = code_points(BLOCKS)
# Line breaks and tabs are laid out, not drawn.
LAID_OUT = frozenset("\n\r\t")


# Characters laid out by HarfBuzz rather than one glyph after another: combining marks, and the scripts written right
# to left whose letters join (Hebrew, Arabic and their presentation forms).
SHAPED = frozenset(
    code
    for first, last in ((0x0300, 0x036F), (0x0590, 0x05FF), (0x0600, 0x06FF), (0x0750, 0x077F), (0xFB1D, 0xFDFF),
                        (0xFE70, 0xFEFF))
    for code in range(first, last + 1)
)  # fmt: skip


def shaped(text: str | None) -> bool:
    """Whether a document showing `text` needs text shaping: when it has a character of SHAPED or one the cut fonts
    leave out (another script, whose needs are not known here), or when `text` is not given. Shaping costs about a
    third of a small document's CPU, and Latin, Greek and Cyrillic text is drawn the same without it."""
    return text is None or any(ord(char) in SHAPED or ord(char) not in KEPT for char in set(text) - LAID_OUT)


# What the plain cut keeps: the cut's characters but those of the shaped scripts.
PLAIN_KEPT = KEPT - SHAPED

# What the Latin cut keeps (first, last code point): the letters of names written in Latin, and the signs printed in
# every language's documents (dashes, quotes, ellipsis, the euro, arrows, the minus of a negative amount).
LATIN_BLOCKS = (
    (0x0020, 0x007E, "Basic Latin"),
    (0x00A0, 0x017F, "Latin-1 Supplement and Latin Extended-A"),
    (0x0218, 0x021B, "Latin letters with a comma below (Romanian)"),
    (0x2000, 0x206F, "General Punctuation"),
    (0x20A0, 0x20CF, "Currency Symbols"),
    (0x2190, 0x21FF, "Arrows"),
    (0x2212, 0x2212, "Minus Sign"),
    (0xFFFD, 0xFFFD, "Replacement Character"),
)
LATIN_KEPT = code_points(LATIN_BLOCKS)


@dataclass(frozen=True)
class Cut:
    """Fonts cut down from the whole ones: `files` by style, drawing the characters `kept`; with the layout tables
    that text shaping reads when `layout`."""

    files: dict[str, Path]
    kept: frozenset[int]
    layout: bool


CUTS = (Cut(CUT, KEPT, layout=True), Cut(PLAIN, PLAIN_KEPT, layout=False), Cut(LATIN, LATIN_KEPT, layout=False))
# The tables only text shaping (HarfBuzz) reads: layout, and the legacy kerning fpdf2 applies only when shaping.
SHAPING_TABLES = ("GSUB", "GPOS", "GDEF", "kern")
# The tables of TrueType hinting, which the cuts leave out (`cut`).
HINTING_TABLES = ("fpgm", "prep", "cvt ")


def font_files(text: str | None) -> dict[str, Path]:
    """The font of each style for a document showing `text` (everything in it that varies: names, places, words of
    its language): the smallest cut that draws all of it — the Latin cut, else the plain cut when the text needs no
    shaping (it then has all of it), else the cut fonts when they have all of it, else the whole ones (also when
    `text` is not given)."""
    if text is None:
        return WHOLE
    if not shaped(text):
        return LATIN if drawn_by(LATIN_KEPT, text) else PLAIN
    if drawn_by(KEPT, text):
        return CUT
    return WHOLE


def drawn_by(kept: frozenset[int], text: str) -> bool:
    """Whether a font keeping the characters `kept` draws every character of `text` (line breaks are laid out)."""
    return all(ord(char) in kept for char in set(text) - LAID_OUT)


def cut(source: Path, target: Path, *, kept: frozenset[int] = KEPT, layout: bool = True) -> None:
    """Write `source` cut down to the characters `kept` as `target`: every glyph of theirs; with `layout`, the glyphs
    the font's layout tables reach from them (Arabic's joined forms, ligatures, marks) and those tables, for text
    shaping, else no layout table (fpdf2 reads them only to shape)."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    options = subset.Options()
    if layout:
        options.layout_features = ["*"]
    else:
        options.layout_features = []
        options.drop_tables += [*SHAPING_TABLES, "MATH"]
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True
    options.glyph_names = True
    options.legacy_kern = True
    # Without TrueType hinting (HINTING_TABLES and each glyph's instructions): it fits the outlines to a screen's
    # pixels at small sizes, where a PDF is printed, zoomed and drawn anti-aliased. The cuts are 16–31 % smaller,
    # a booking's e-tickets and invoice 42 % smaller (26.8 → 15.7 kB, 21.8 → 12.6 kB), and each document's cutting
    # has less to read and write (a booking's two e-mails with both PDFs, in one process: 78–82 → 66–72 ms of CPU).
    options.hinting = False
    options.drop_tables += ["FFTM"]  # FontForge's timestamp: nothing reads it
    font = TTFont(source, recalcTimestamp=False)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(kept))
    subsetter.subset(font)
    # The character map once, in the Windows Unicode table fpdf2 and HarfBuzz read: the font has a copy of it for the
    # Unicode platform too, which every document's cutting would read again for nothing.
    font["cmap"].tables = [table for table in font["cmap"].tables if table.platformID == 3]
    font.save(target)


def hinting(path: Path) -> list[str]:
    """The hinting tables a font has (`HINTING_TABLES`)."""
    from fontTools.ttLib import TTFont

    font = TTFont(path, lazy=True)
    return [tag.strip() for tag in HINTING_TABLES if tag in font]


def characters(path: Path) -> set[int]:
    """The code points a font draws."""
    from fontTools.ttLib import TTFont

    return set(TTFont(path, lazy=True).getBestCmap())


def add_fonts(pdf, family: str, files: dict[str, Path]) -> None:
    """`pdf.add_font(family, style, path)` for each of `files`, from fonts this process has read already.

    fpdf2 reads the whole font for each document it is added to (every glyph's outline, width and name: half of a
    small PDF's CPU), then reads it again to cut it down to the glyphs the document used. Here the font is read once
    a process, by fpdf2 itself; a document gets a copy of what was read with a state of its own (the glyphs it uses,
    those it misses) and, to be cut down to them when the PDF is written, the font's file read from memory, tables
    parsed only as the cutting needs them. The glyphs' bounding boxes are kept as the font has them (the same
    numbers: cutting a font moves no outline) rather than worked out again from every outline."""
    from fontTools.ttLib import TTFont
    from fpdf.fonts import SubsetMap

    for style, path in files.items():
        read, data = _read(family, style, Path(path))
        font = copy.copy(read)  # what was read is shared: widths, glyph ids, the character map, the descriptor
        font.i = len(pdf.fonts) + 1
        font.ttfont = TTFont(io.BytesIO(data), recalcTimestamp=False, recalcBBoxes=False, lazy=True)
        font.subset = SubsetMap(font)
        font.missing_glyphs = []
        font.biggest_size_pt = 0
        font._hbfont = None  # shaping reads the font from its file, as fpdf2 does
        pdf.fonts[font.fontkey] = font


@functools.cache
def _read(family: str, style: str, path: Path):
    """The font as fpdf2 reads it for a document (its TTFFont, without the parsed tables) and the file's bytes."""
    from fpdf import FPDF

    reader = FPDF()
    reader.add_font(family, style, path)
    (font,) = reader.fonts.values()
    font.ttfont.close()
    font.ttfont = None  # each document parses its own: cutting a font down changes it
    return font, path.read_bytes()
