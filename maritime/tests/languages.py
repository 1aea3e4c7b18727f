"""What the language tests share: the languages, and a finder of English left on a page, an e-mail or a PDF.

English left is found by the English catalogue's own strings (the msgids): on a page in another language, any text
that is one of them — or holds a long one — and is translated differently in that language's catalogue was not
translated where it is shown (a string not marked for translation, a catalogue not compiled, a language not
activated). Strings whose translation is the same word (Total, Port, Maritime) are not English left.
"""

import re
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po
from django.conf import settings

LANGUAGES = [code for code, _name in settings.LANGUAGES]
OTHER_LANGUAGES = [code for code in LANGUAGES if code != settings.LANGUAGE_CODE]
# A placeholder or a tag splits a msgid into the literal pieces a page can show.
SPLIT = re.compile(r"%\(\w+\)[sdfi]|%[sdfi]|\{\w*\}|<[^>]+>|&\w+;|%%")
# A piece this long is a sentence of ours wherever it appears; shorter ones ("Car", "Back") only as a whole text.
LONG = 24


@cache
def english_strings(language: str) -> tuple[frozenset[str], tuple[str, ...]]:
    """(whole strings, long pieces) of the English catalogue that `language` translates differently."""
    path = Path(settings.LOCALE_PATHS[0]) / language / "LC_MESSAGES" / "django.po"
    with path.open("rb") as file:
        catalogue = read_po(file, locale=language)
    whole, pieces = set(), set()
    for message in catalogue:
        if not message.id:
            continue
        english = message.id if isinstance(message.id, tuple) else (message.id,)
        translated = " ".join(message.string if isinstance(message.string, tuple) else (message.string,))
        for text in english:
            for piece in (normalise(p) for p in SPLIT.split(text)):
                if not re.search(r"[A-Za-z]{2}", piece) or piece in translated:
                    continue
                if piece == normalise(text):
                    whole.add(piece)
                if len(piece) >= LONG:
                    pieces.add(piece)
    return frozenset(whole), tuple(sorted(pieces))


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip(" \n\t.:;,")


def english_left(language: str, texts: list[str]) -> list[str]:
    """The English strings found in `texts` (each a piece of text as shown: a text node, an attribute, a line)."""
    whole, pieces = english_strings(language)
    found = {text for text in map(normalise, texts) if text in whole}
    joined = " ¶ ".join(map(normalise, texts))
    found |= {piece for piece in pieces if piece in joined}
    return sorted(found)
