"""The "Staff agent" group: staff who look after bookings and travellers — read a booking whole, correct its
contact, cancel, refund, send its e-mails again — and read, never change, the network and the money.

Django makes permissions after the last migration has run; on a new database they do not exist yet
here, so they are made first (the same function `migrate` calls, on this migration's models).
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

STAFF_AGENT = "Staff agent"
# app label → model → actions. Fares, operators, routes, vessels and sailings are the business's to change.
PERMISSIONS = {
    "bookings": {"booking": ["view", "change"]},
    "ferries": {
        model: ["view"]
        for model in [
            "operator", "port", "vessel", "route", "sailing", "sailinginventory",
            "fare", "passengerfare", "vehiclefare", "accommodationfare",
        ]
    },
    "notifications": {"email": ["view", "change"]},
    "payments": {"payment": ["view"], "refund": ["view"], "webhookevent": ["view"]},
}


def create_staff_agent_group(apps, schema_editor):
    for label in PERMISSIONS:
        app_config = apps.get_app_config(label)
        # A historical app config has no models module, and create_permissions skips those.
        models_module, app_config.models_module = getattr(app_config, "models_module", None), True
        try:
            create_permissions(app_config, verbosity=0, using=schema_editor.connection.alias, apps=apps)
        finally:
            app_config.models_module = models_module
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _created = Group.objects.get_or_create(name=STAFF_AGENT)
    for label, models in PERMISSIONS.items():
        for model, actions in models.items():
            codenames = [f"{action}_{model}" for action in actions]
            group.permissions.add(
                *Permission.objects.filter(content_type__app_label=label, content_type__model=model, codename__in=codenames)
            )


def delete_staff_agent_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=STAFF_AGENT).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("bookings", "0001_initial"),
        ("ferries", "0001_initial"),
        ("notifications", "0001_initial"),
        ("payments", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_staff_agent_group, delete_staff_agent_group)]
