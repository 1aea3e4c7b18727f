"""The translation catalogues (locale/<language>/LC_MESSAGES/django.po): compiled at install, checked by `make lint`.

    manage.py catalogues compile   each .po into the .mo Django reads (Babel: no GNU gettext needed); fuzzy entries
                                   are left out, so an unchecked guess never reaches a page
    manage.py catalogues check     every language of settings.LANGUAGES but English has a catalogue with no entry
                                   untranslated or fuzzy, and each translation keeps its English's placeholders
                                   (%(name)s, %s, {name}) and HTML tags; no string to translate hides inside an
                                   f-string (xgettext cannot see it); then `msgfmt --check` where gettext is
                                   installed (CI installs it)

The .mo files are built, never committed: a catalogue edited is compiled again by the next `make run`/`make test`.
"""

import re
import shutil
import subprocess
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

# A call to gettext inside an f-string: xgettext does not look inside f-strings, so its text never reaches a catalogue.
HIDDEN_CALL = re.compile(r"""\bf(["'])[^\n]*?\{\s*(?:_|gettext|pgettext|ngettext|gettext_lazy)\(""")
PLACEHOLDER = re.compile(r"%\(\w+\)[sdfi]|%[sdfi]|\{\w*\}|%%")
TAG = re.compile(r"</?[a-zA-Z][^>]*>")


def catalogue_path(language: str) -> Path:
    return Path(settings.LOCALE_PATHS[0]) / language / "LC_MESSAGES" / "django.po"


def catalogue_problems(language: str) -> list[str]:
    """What is wrong with a language's catalogue, one line per entry (empty when it is complete and sound)."""
    path = catalogue_path(language)
    if not path.exists():
        return [f"{path}: missing"]
    with path.open("rb") as file:
        catalogue = read_po(file, locale=language)
    problems = []
    for message in catalogue:
        if not message.id:
            continue
        where = f"{path}:{message.lineno}"
        english = message.id if isinstance(message.id, tuple) else (message.id,)
        translated = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy:
            problems.append(f"{where}: fuzzy: {english[0]!r}")
        elif not all(translated):
            problems.append(f"{where}: untranslated: {english[0]!r}")
            continue
        problems += _form_problems(where, english, translated)
    return problems


def _form_problems(where: str, english: tuple, translated: tuple) -> list[str]:
    """Each translation keeps the English's placeholders and HTML tags. The forms of a plural may leave the number
    out ("une seule place"), and so hold fewer; the last form (many/other) holds them all."""
    wanted = set(PLACEHOLDER.findall(english[0])) | set(PLACEHOLDER.findall(english[-1]))
    tags = sorted(TAG.findall(english[0]))
    for number, form in enumerate(translated, start=1):
        found = set(PLACEHOLDER.findall(form))
        if found - wanted or (found != wanted and number == len(translated)):
            return [f"{where}: placeholders {sorted(found)} instead of {sorted(wanted)}: {english[0]!r}"]
        if sorted(TAG.findall(form)) != tags:
            return [f"{where}: HTML tags {sorted(TAG.findall(form))} instead of {tags}: {english[0]!r}"]
    return []


def hidden_calls() -> list[str]:
    """Strings marked for translation where makemessages cannot see them (inside f-strings), outside the tests."""
    base = Path(settings.BASE_DIR)
    found = []
    for path in sorted(base.glob("*/**/*.py")):
        parts = path.relative_to(base).parts
        if parts[0].startswith(".") or parts[0] in ("bench", "faults") or "tests" in parts or "migrations" in parts:
            continue
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if HIDDEN_CALL.search(line):
                found.append(f"{path.relative_to(base)}:{number}: a string to translate inside an f-string")
    return found


class Command(BaseCommand):
    help = "Compile the translation catalogues (compile), or check that they are complete and sound (check)."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["compile", "check"])

    def handle(self, *args, action, **options):
        languages = [code for code, _name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]
        if action == "compile":
            for language in languages:
                self._compile(language)
            return
        problems = [problem for language in languages for problem in catalogue_problems(language)] + hidden_calls()
        msgfmt = shutil.which("msgfmt")
        for language in languages if msgfmt else []:
            result = subprocess.run(
                [msgfmt, "--check", "-o", "/dev/null", str(catalogue_path(language))],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            problems += result.stderr.strip().splitlines() if result.returncode else []
        if problems:
            raise CommandError(f"{len(problems)} problems in the catalogues:\n" + "\n".join(problems))
        checked = "checked with msgfmt --check too" if msgfmt else "msgfmt not installed: its check left out"
        self.stdout.write(f"Catalogues complete: {', '.join(languages)} ({checked}).")

    def _compile(self, language: str) -> None:
        path = catalogue_path(language)
        with path.open("rb") as file:
            catalogue = read_po(file, locale=language)
        with path.with_suffix(".mo").open("wb") as file:
            write_mo(file, catalogue, use_fuzzy=False)
        self.stdout.write(f"{path.with_suffix('.mo')}: {sum(1 for m in catalogue if m.id and m.string)} messages")
