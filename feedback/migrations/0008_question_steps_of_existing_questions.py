"""Give existing number questions the step their answers were given on.

The default questionnaire ("AI pilot pulse") asks whole minutes and whole scale points: step 1.
Every other number question was answered under the old rule "at most two decimals": it keeps a
step of 1 only if its minimum, its maximum and every answer recorded so far are whole numbers
(a count, whole minutes), else it gets 0.01, so that no answer accepted before is refused now.
Scale questions keep 1 (the default of the new column). Reversible: going back drops the
column (0007), so the reverse of this step has nothing to undo.
"""

from decimal import Decimal

from django.db import migrations

PULSE = "ai-pilot-pulse"
WHOLE, HUNDREDTH = Decimal("1"), Decimal("0.01")


def _whole(value) -> bool:
    return value is None or value == value.to_integral_value()


def set_steps(apps, schema_editor):
    Question = apps.get_model("feedback", "Question")
    Answer = apps.get_model("feedback", "Answer")
    Question.objects.filter(
        questionnaire__slug=PULSE, kind__in=["number", "scale"]
    ).update(step=WHOLE)
    numbers = Question.objects.filter(kind="number").exclude(questionnaire__slug=PULSE)
    for question in numbers.iterator():
        whole = _whole(question.min_value) and _whole(question.max_value)
        if whole:
            answers = Answer.objects.filter(question_id=question.pk, number__isnull=False)
            whole = all(_whole(v) for v in answers.values_list("number", flat=True).iterator())
        Question.objects.filter(pk=question.pk).update(step=WHOLE if whole else HUNDREDTH)

class Migration(migrations.Migration):

    dependencies = [
        ("feedback", "0007_question_step"),
    ]

    operations = [
        migrations.RunPython(set_steps, migrations.RunPython.noop),
    ]
