from django.core.management import BaseCommand, CommandError

from notifications import typefaces


class Command(BaseCommand):
    help = (
        "Makes the PDFs' cut fonts (notifications/fonts/*-cut.ttf, *-plain.ttf and *-latin.ttf) from the whole ones, "
        "kept to the Unicode blocks of notifications/typefaces.py, without hinting; --check only tells whether those "
        "in place draw what they should and carry no hinting."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--check", action="store_true", help="Change nothing; fail when a cut font is missing or out of date."
        )

    def handle(self, *args, check: bool, **options):
        for cut in typefaces.CUTS:
            for style, whole in typefaces.WHOLE.items():
                target = cut.files[style]
                expected = typefaces.characters(whole) & cut.kept
                if check:
                    self._check(target, expected)
                    continue
                typefaces.cut(whole, target, kept=cut.kept, layout=cut.layout)
                self.stdout.write(f"{target.name}: {len(typefaces.characters(target))} characters of {whole.name}.")

    def _check(self, target, expected: set[int]) -> None:
        if not target.exists():
            raise CommandError(f"{target.name} is missing: run `manage.py cut_fonts`.")
        hinted = typefaces.hinting(target)
        if hinted:
            tables = ", ".join(hinted)
            raise CommandError(f"{target.name} is out of date (hinted: {tables}): run `manage.py cut_fonts`.")
        drawn = typefaces.characters(target)
        if drawn != expected:
            raise CommandError(
                f"{target.name} is out of date ({len(expected - drawn)} characters missing, "
                f"{len(drawn - expected)} too many): run `manage.py cut_fonts`."
            )
        self.stdout.write(f"{target.name}: {len(drawn)} characters, as kept.")
