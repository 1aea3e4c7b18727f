from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Traveller accounts")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.urls import register_converter

        from accounts.converters import ApiSavedIdConverter, SavedIdConverter

        register_converter(SavedIdConverter, "saved_id")
        register_converter(ApiSavedIdConverter, "api_saved_id")
