"""Questions get a step: answers are multiples of it from the minimum (1 by default)."""

from decimal import Decimal
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('feedback', '0006_ai_pilot_pulse_in_french'),
    ]

    operations = [
        migrations.AddField(
            model_name='question',
            name='step',
            field=models.DecimalField(decimal_places=2, default=Decimal('1'), help_text='Answers are multiples of it from the minimum: 1 for scales, counts and minutes, 0.01 for a rate or a share.', max_digits=10, verbose_name='step'),
        ),
        migrations.AddConstraint(
            model_name='question',
            constraint=models.CheckConstraint(condition=models.Q(('step__gt', 0)), name='feedback_question_step_positive', violation_error_message='The step must be above 0.'),
        ),
        migrations.AddConstraint(
            model_name='question',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('kind', 'scale'), _negated=True), ('step', 1), _connector='OR'), name='feedback_question_scale_step_one', violation_error_message='A scale goes in steps of 1.'),
        ),
    ]
