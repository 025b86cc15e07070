"""The Ops group may publish charter versions and read acknowledgements in the admin.

Creates the permissions now (on a new database Django creates them only after all migrations)
and the group if it is missing. Reversible: the reverse takes the permissions back, keeps the
group.
"""

from django.db import migrations

# core.ops.OPS_GROUP, written out: a migration must not depend on code that may change.
OPS_GROUP = "Ops"
GRANTS = [
    ("charterversion", "add", "Can add charter version"),
    ("charterversion", "view", "Can view charter version"),
    ("acknowledgement", "view", "Can view charter acknowledgement"),
]


def _permissions(apps, db: str) -> list:
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    found = []
    for model, action, name in GRANTS:
        content_type, _ = ContentType.objects.using(db).get_or_create(
            app_label="governance", model=model
        )
        permission, _ = Permission.objects.using(db).get_or_create(
            content_type=content_type, codename=f"{action}_{model}", defaults={"name": name}
        )
        found.append(permission)
    return found


def grant(apps, schema_editor):
    db = schema_editor.connection.alias
    Group = apps.get_model("auth", "Group")
    group, _ = Group.objects.using(db).get_or_create(name=OPS_GROUP)
    group.permissions.add(*_permissions(apps, db))


def revoke(apps, schema_editor):
    db = schema_editor.connection.alias
    Group = apps.get_model("auth", "Group")
    group = Group.objects.using(db).filter(name=OPS_GROUP).first()
    if group is not None:
        group.permissions.remove(*_permissions(apps, db))


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("governance", "0001_charter"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
