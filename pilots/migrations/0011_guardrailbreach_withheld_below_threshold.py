"""Metric breaches whose value was withheld no longer name their guardrail.

A breach in a round with too few answers to show its value used to name its rule; several
rules on the same few answers ("mean ≥ 2 / 3 / 4 / 5") then told each respondent what the
others answered. From now on such a breach is one record per round that says only that a
guardrail of the pilot broke (decisions.guardrails). Breaches recorded before, with no value
stored, are rewritten the same way: per round, the earliest becomes the withheld record (kept
resolved or open as it was, its words rebuilt from facts) and the others, which would repeat
it rule by rule, are deleted. Irreversible by design: putting the names back would restore
the leak.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def withhold_unshown_breaches(apps, schema_editor):
    GuardrailBreach = apps.get_model("pilots", "GuardrailBreach")
    legacy = (
        GuardrailBreach.objects.filter(
            trigger="metric", observed_value__isnull=True, round__isnull=False
        )
        .exclude(guardrail__isnull=True)
        .select_related("guardrail", "round")
        .order_by("round_id", "created_at", "pk")
    )
    kept: dict[int, object] = {}
    for breach in legacy:
        first = kept.get(breach.round_id)
        if first is None:
            kept[breach.round_id] = breach
            breach.rule = {
                "withheld": True,
                "date": breach.round.period_start.isoformat(),
                "action": breach.guardrail.action,
            }
            breach.detail = ""
            breach.guardrail = None
            breach.save(update_fields=["rule", "detail", "guardrail"])
        else:
            breach.delete()


class Migration(migrations.Migration):

    dependencies = [
        ('feedback', '0008_question_steps_of_existing_questions'),
        ('pilots', '0010_drafts_may_exceed_the_tool_ceiling'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name='guardrailbreach',
            name='guardrail',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='breaches', to='pilots.guardrail'),
        ),
        migrations.RunPython(withhold_unshown_breaches),
        migrations.AddConstraint(
            model_name='guardrailbreach',
            constraint=models.CheckConstraint(condition=models.Q(('guardrail__isnull', False), models.Q(('observed_value__isnull', True), ('round__isnull', False), ('trigger', 'metric')), _connector='OR'), name='pilots_guardrailbreach_withheld_is_a_metric_breach_without_value'),
        ),
        migrations.AddConstraint(
            model_name='guardrailbreach',
            constraint=models.UniqueConstraint(condition=models.Q(('guardrail__isnull', True), ('trigger', 'metric')), fields=('round',), name='pilots_guardrailbreach_one_withheld_per_round'),
        ),
    ]
