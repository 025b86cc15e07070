"""Breach alerts move to the outbox (core.Delivery); the breach keeps no email state.

A breach whose alert had not gone out yet (queued or sending) gets one queued delivery per Ops
recipient as of now, so the move loses no alert. Reversing restores the columns (at their
defaults); the states stay in the outbox.
"""

from django.db import migrations


def queue_pending_alerts(apps, schema_editor):
    from django.conf import settings as django_settings
    from django.db.models import Q

    GuardrailBreach = apps.get_model("pilots", "GuardrailBreach")
    Delivery = apps.get_model("core", "Delivery")
    ContentType = apps.get_model("contenttypes", "ContentType")
    User = apps.get_model(*django_settings.AUTH_USER_MODEL.split("."))
    pending = list(GuardrailBreach.objects.exclude(notify_status="sent").values_list("pk", flat=True))
    if not pending:
        return
    emails = set(
        User.objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(groups__name="Ops"))
        .exclude(email="")
        .values_list("email", flat=True)
    ) | set(getattr(django_settings, "OPS_EMAILS", []))
    breach_type, _created = ContentType.objects.get_or_create(
        app_label="pilots", model="guardrailbreach"
    )
    Delivery.objects.bulk_create(
        [
            Delivery(
                kind="breach_alert",
                channel="email",
                recipient=email,
                subject_type=breach_type,
                subject_id=str(pk),
                dedupe_key=f"breach_alert:{pk}:{email}",
                payload={"breach_id": pk},
            )
            for pk in pending
            for email in sorted(emails)
        ],
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0002_change_records_append_only"),
        ("contenttypes", "0002_remove_content_type_name"),
        ('pilots', '0012_guardrails_one_per_statistic_frozen_once_answered'),
    ]

    operations = [
        migrations.RunPython(queue_pending_alerts, migrations.RunPython.noop),
        migrations.RemoveConstraint(
            model_name='guardrailbreach',
            name='pilots_guardrailbreach_notify_status_valid',
        ),
        migrations.RemoveConstraint(
            model_name='guardrailbreach',
            name='pilots_guardrailbreach_sent_has_notified_at',
        ),
        migrations.RemoveConstraint(
            model_name='guardrailbreach',
            name='pilots_guardrailbreach_sending_has_started_at',
        ),
        migrations.RemoveIndex(
            model_name='guardrailbreach',
            name='pilots_breach_notify_status',
        ),
        migrations.RemoveField(
            model_name='guardrailbreach',
            name='notified_at',
        ),
        migrations.RemoveField(
            model_name='guardrailbreach',
            name='notify_attempts',
        ),
        migrations.RemoveField(
            model_name='guardrailbreach',
            name='notify_started_at',
        ),
        migrations.RemoveField(
            model_name='guardrailbreach',
            name='notify_status',
        ),
    ]
