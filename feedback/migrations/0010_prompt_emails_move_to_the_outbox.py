"""A prompt's emails move to the outbox: its invitations and its reminder are deliveries.

Each prompt's invitation and reminder states become deliveries with the same state (queued,
sending, sent, failed; "skipped" becomes "not needed any more"), so a sent invitation can still
be reminded, a failed one re-sent, a queued one sent. Reversing restores the
columns (at their defaults); the states stay in the outbox.
"""

from django.db import migrations


STATES = {"queued": "queued", "sending": "sending", "sent": "sent", "failed": "failed",
          "skipped": "cancelled"}


def move_states(apps, schema_editor):
    Prompt = apps.get_model("feedback", "Prompt")
    Delivery = apps.get_model("core", "Delivery")
    ContentType = apps.get_model("contenttypes", "ContentType")
    prompt_type, _created = ContentType.objects.get_or_create(app_label="feedback", model="prompt")
    rows = []
    for prompt in Prompt.objects.select_related("participant").exclude(participant__email="").iterator():
        for kind, status, started, done, attempts in (
            ("invitation", prompt.send_status, prompt.send_started_at, prompt.sent_at,
             prompt.send_attempts),
            ("reminder", prompt.reminder_status, prompt.reminder_started_at, prompt.reminded_at,
             1 if prompt.reminder_status in ("sending", "sent", "failed") else 0),
        ):
            if not status:
                continue
            state = STATES.get(status, "cancelled")
            rows.append(
                Delivery(
                    kind=kind,
                    channel="email",
                    recipient=prompt.participant.email,
                    recipient_user_id=prompt.participant_id,
                    subject_type=prompt_type,
                    subject_id=str(prompt.pk),
                    batch=f"round:{prompt.round_id}",
                    dedupe_key=f"{kind}:{prompt.pk}:1" if kind == "invitation" else f"{kind}:{prompt.pk}",
                    payload={"prompt_id": prompt.pk},
                    status=state,
                    attempts=attempts,
                    claimed_at=started or (done if state in ("sent", "sending") else None)
                    or (prompt.created_at if state == "sending" else None),
                    sent_at=(done or started or prompt.created_at) if state == "sent" else None,
                )
            )
    Delivery.objects.bulk_create(rows, ignore_conflicts=True)


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0002_change_records_append_only"),
        ("contenttypes", "0002_remove_content_type_name"),
        ('feedback', '0009_withhold_counts_below_threshold_in_stored_results'),
    ]

    operations = [
        migrations.RunPython(move_states, migrations.RunPython.noop),
        migrations.RemoveIndex(
            model_name='prompt',
            name='feedback_prompt_send_status',
        ),
        migrations.RemoveField(
            model_name='prompt',
            name='reminded_at',
        ),
        migrations.RemoveField(
            model_name='prompt',
            name='reminder_started_at',
        ),
        migrations.RemoveField(
            model_name='prompt',
            name='reminder_status',
        ),
        migrations.RemoveField(
            model_name='prompt',
            name='send_attempts',
        ),
        migrations.RemoveField(
            model_name='prompt',
            name='send_started_at',
        ),
        migrations.RemoveField(
            model_name='prompt',
            name='send_status',
        ),
        migrations.RemoveField(
            model_name='prompt',
            name='sent_at',
        ),
    ]
