import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management import BaseCommand, CommandError, call_command, get_commands

CREDENTIALS_FILE = settings.VAR_DIR / "demo-admin.txt"

# Commands that fill the demo with data, run in this order when an app provides them.
DEMO_DATA_COMMANDS = ["seed_demo_data", "seed_demo_promo_codes"]


class Command(BaseCommand):
    help = "Prepares a development site: an admin account (its credentials printed) and the demo data."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin", help="Admin account to create (default: admin).")

    def handle(self, *args, username: str, **options):
        if not settings.DEBUG:
            raise CommandError("demo_setup creates an account with a printed password; it runs only with DEBUG on.")
        User = get_user_model()
        try:
            User._meta.get_field(User.USERNAME_FIELD).clean(username, None)
        except ValidationError as error:
            raise CommandError(f"--username {username!r}: {' '.join(error.messages)}") from None
        available = get_commands()
        for command in DEMO_DATA_COMMANDS:
            if command in available:
                call_command(command, stdout=self.stdout, stderr=self.stderr)
        self._announce_admin(username)

    def _announce_admin(self, username: str) -> None:
        User = get_user_model()
        if not User.objects.filter(username=username).exists():
            password = secrets.token_urlsafe(12)
            User.objects.create_superuser(username=username, email="", password=password)
            CREDENTIALS_FILE.parent.mkdir(parents=True, exist_ok=True)
            CREDENTIALS_FILE.write_text(f"{username}\n{password}\n")
        if CREDENTIALS_FILE.exists() and CREDENTIALS_FILE.read_text().split()[0] == username:
            password = CREDENTIALS_FILE.read_text().split()[1]
        else:
            password = f"(unchanged; set one with: manage.py changepassword {username})"
        self.stdout.write(
            self.style.SUCCESS(f"Admin: {settings.SITE_URL}/admin/  user: {username}  password: {password}")
        )
