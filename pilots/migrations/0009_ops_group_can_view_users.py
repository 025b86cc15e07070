"""The Ops group may view user accounts, so that Ops can look up a pilot's lead in the admin.

Without it the admin's lookup of a person (the magnifying glass next to "lead", "user") answers
403 to every Ops user who is not a superuser. Viewing only: Ops get no say over accounts.
Creates the group if it is missing. Reversible: the reverse takes the permission back and
keeps the group, which may have existed before and hold other permissions and members.
"""

from django.db import migrations

# pilots.models.OPS_GROUP, written out: a migration must not depend on code that may change.
OPS_GROUP = "Ops"


def _view_user(apps, db: str):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    # On a new database the permissions are created only after all migrations have run
    # (post_migrate): create this one now, as Django would name it.
    user_type, _ = ContentType.objects.using(db).get_or_create(app_label="auth", model="user")
    permission, _ = Permission.objects.using(db).get_or_create(
        content_type=user_type, codename="view_user", defaults={"name": "Can view user"}
    )
    return permission


def grant_view_user(apps, schema_editor):
    db = schema_editor.connection.alias
    Group = apps.get_model("auth", "Group")
    group, _ = Group.objects.using(db).get_or_create(name=OPS_GROUP)
    group.permissions.add(_view_user(apps, db))


def revoke_view_user(apps, schema_editor):
    db = schema_editor.connection.alias
    Group = apps.get_model("auth", "Group")
    group = Group.objects.using(db).filter(name=OPS_GROUP).first()
    if group is not None:
        group.permissions.remove(_view_user(apps, db))


class Migration(migrations.Migration):

    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("pilots", "0008_guardrailbreach_rule_facts"),
    ]

    operations = [migrations.RunPython(grant_view_user, revoke_view_user)]
