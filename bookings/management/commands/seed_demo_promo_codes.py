from django.core.management import BaseCommand

from bookings.models import PromoCode

# The demo's codes, as the README's walk-through names them.
DEMO_CODES = [
    {"code": "WELCOME10", "description": "Demo: 10 % off, once per e-mail address.", "kind": PromoCode.Kind.PERCENT,
     "percent": 10, "max_uses_per_email": 1},
    {"code": "SUMMER-20", "description": "Demo: €20.00 off bookings of €150.00 or more.", "kind": PromoCode.Kind.AMOUNT,
     "amount_minor": 2000, "currency": "EUR", "min_total_minor": 15000},
]  # fmt: skip


class Command(BaseCommand):
    help = (
        "Creates the demo's promo codes (WELCOME10, SUMMER-20). Safe to run again: existing codes are kept as they are."
    )

    def handle(self, *args, **options):
        added = [fields["code"] for fields in DEMO_CODES if PromoCode.objects.get_or_create(
            code=fields["code"], defaults={key: value for key, value in fields.items() if key != "code"}
        )[1]]  # fmt: skip
        self.stdout.write(self.style.SUCCESS(f"Demo promo codes ready; added {len(added)}: {', '.join(added) or '-'}."))
