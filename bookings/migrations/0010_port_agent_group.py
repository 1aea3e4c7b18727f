"""The "Port agent" group: staff at the quay who check travellers in and board them (the check-in page and the
hand-helds' API), and nothing else. Permissions are made first, as in 0002 (Django makes them after the last
migration)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

PORT_AGENT = "Port agent"


def create_port_agent_group(apps, schema_editor):
    app_config = apps.get_app_config("bookings")
    models_module, app_config.models_module = getattr(app_config, "models_module", None), True
    try:
        create_permissions(app_config, verbosity=0, using=schema_editor.connection.alias, apps=apps)
    finally:
        app_config.models_module = models_module
    group, _created = apps.get_model("auth", "Group").objects.get_or_create(name=PORT_AGENT)
    group.permissions.add(
        *apps.get_model("auth", "Permission").objects.filter(
            content_type__app_label="bookings", codename="check_in_travellers"
        )
    )


def delete_port_agent_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=PORT_AGENT).delete()


class Migration(migrations.Migration):
    dependencies = [("bookings", "0009_boarding")]

    operations = [migrations.RunPython(create_port_agent_group, delete_port_agent_group)]
