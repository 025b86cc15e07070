"""Guardrails Ops disable with a reason, per-round guardrail checks, declarations handled by whom."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def date_handled_declarations(apps, schema_editor):
    # Declarations handled before this migration: their time of handling is unknown; the time
    # they were declared is the closest one on record.
    ToolDeclaration = apps.get_model("pilots", "ToolDeclaration")
    ToolDeclaration.objects.exclude(status="new").filter(handled_at__isnull=True).update(
        handled_at=models.F("created_at")
    )


class Migration(migrations.Migration):

    dependencies = [
        ('feedback', '0005_question_language_translations'),
        ('pilots', '0006_guardrailbreach_trigger_action_taken'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='GuardrailCheck',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('outcome', models.CharField(choices=[('holding', 'holding'), ('broken', 'broken'), ('not_evaluated', 'not evaluated')], max_length=13, verbose_name='outcome')),
                ('observed_value', models.DecimalField(blank=True, decimal_places=4, max_digits=12, null=True, verbose_name='value seen')),
            ],
            options={
                'verbose_name': 'guardrail check',
                'verbose_name_plural': 'guardrail checks',
                'ordering': ['pk'],
            },
        ),
        migrations.AddField(
            model_name='guardrail',
            name='disabled_at',
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name='disabled'),
        ),
        migrations.AddField(
            model_name='guardrail',
            name='disabled_by',
            field=models.ForeignKey(blank=True, editable=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='disabled by'),
        ),
        migrations.AddField(
            model_name='guardrail',
            name='disabled_reason',
            field=models.TextField(blank=True, editable=False, verbose_name='why it was disabled'),
        ),
        migrations.AddField(
            model_name='tooldeclaration',
            name='handled_at',
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name='handled'),
        ),
        migrations.AddField(
            model_name='tooldeclaration',
            name='handled_by',
            field=models.ForeignKey(blank=True, editable=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='handled by'),
        ),
        migrations.AddField(
            model_name='tooldeclaration',
            name='ops_note',
            field=models.TextField(blank=True, verbose_name='note from Ops'),
        ),
        migrations.RunPython(date_handled_declarations, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='guardrail',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('disabled_at__isnull', True), ('disabled_by__isnull', True), ('disabled_reason', '')), models.Q(('disabled_at__isnull', False), models.Q(('disabled_reason', ''), _negated=True)), _connector='OR'), name='pilots_guardrail_disabled_with_reason'),
        ),
        migrations.AddConstraint(
            model_name='tooldeclaration',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('status', 'dismissed'), _negated=True), models.Q(('ops_note', ''), _negated=True), _connector='OR'), name='pilots_tooldeclaration_dismissal_has_note'),
        ),
        migrations.AddConstraint(
            model_name='tooldeclaration',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('handled_at__isnull', True), ('status', 'new')), models.Q(models.Q(('status', 'new'), _negated=True), ('handled_at__isnull', False)), _connector='OR'), name='pilots_tooldeclaration_handled_iff_not_new'),
        ),
        migrations.AddField(
            model_name='guardrailcheck',
            name='guardrail',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='checks', to='pilots.guardrail'),
        ),
        migrations.AddField(
            model_name='guardrailcheck',
            name='round',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='guardrail_checks', to='feedback.feedbackround'),
        ),
        migrations.AddConstraint(
            model_name='guardrailcheck',
            constraint=models.UniqueConstraint(fields=('guardrail', 'round'), name='pilots_guardrailcheck_once_per_round'),
        ),
        migrations.AddConstraint(
            model_name='guardrailcheck',
            constraint=models.CheckConstraint(condition=models.Q(('outcome__in', ['holding', 'broken', 'not_evaluated'])), name='pilots_guardrailcheck_outcome_valid'),
        ),
        migrations.AddConstraint(
            model_name='guardrailcheck',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('outcome', 'not_evaluated'), _negated=True), ('observed_value__isnull', True), _connector='OR'), name='pilots_guardrailcheck_not_evaluated_has_no_value'),
        ),
    ]
