"""The Ops group may view the change log, follow-ups and the outbox, and retry what failed.

Viewing the three models, and changing follow-ups and deliveries (what the admin's "run
again" and "send again" actions ask for: nothing else in the admin edits them). Creates the
group if it is missing. Reversible: the reverse takes these permissions back and keeps the
group.
"""

from django.db import migrations

# pilots.models.OPS_GROUP, written out: a migration must not depend on code that may change.
OPS_GROUP = "Ops"
GRANTED = [
    ("changerecord", "view", "change record"),
    ("followup", "view", "follow-up"),
    ("followup", "change", "follow-up"),
    ("delivery", "view", "delivery"),
    ("delivery", "change", "delivery"),
]


def _permissions(apps, db: str) -> list:
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    found = []
    # On a new database the permissions are created only after all migrations have run
    # (post_migrate): create them now, as Django would name them.
    for model, action, verbose in GRANTED:
        content_type, _ = ContentType.objects.using(db).get_or_create(
            app_label="core", model=model
        )
        permission, _ = Permission.objects.using(db).get_or_create(
            content_type=content_type,
            codename=f"{action}_{model}",
            defaults={"name": f"Can {action} {verbose}"},
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
        ("core", "0002_change_records_append_only"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
