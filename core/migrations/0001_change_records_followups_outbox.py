"""The spine: change records, follow-up work, the outbox."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='FollowUp',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(max_length=64, verbose_name='kind')),
                ('key', models.CharField(max_length=128, verbose_name='key')),
                ('payload', models.JSONField(blank=True, default=dict, verbose_name='payload')),
                ('status', models.CharField(choices=[('pending', 'Pending'), ('running', 'Running'), ('done', 'Done'), ('failed', 'Failed')], default='pending', max_length=8, verbose_name='status')),
                ('attempts', models.PositiveSmallIntegerField(default=0, verbose_name='attempts')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='created')),
                ('available_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='due')),
                ('claimed_at', models.DateTimeField(blank=True, null=True, verbose_name='started')),
                ('done_at', models.DateTimeField(blank=True, null=True, verbose_name='done')),
                ('last_error', models.TextField(blank=True, verbose_name='last error')),
            ],
            options={
                'verbose_name': 'follow-up',
                'verbose_name_plural': 'follow-ups',
                'ordering': ['created_at', 'pk'],
                'indexes': [models.Index(fields=['status', 'available_at'], name='core_followup_due')],
                'constraints': [models.CheckConstraint(condition=models.Q(('status__in', ['pending', 'running', 'done', 'failed'])), name='core_followup_status_valid'), models.CheckConstraint(condition=models.Q(models.Q(('status', 'running'), _negated=True), ('claimed_at__isnull', False), _connector='OR'), name='core_followup_running_has_claimed_at'), models.CheckConstraint(condition=models.Q(models.Q(('done_at__isnull', False), ('status', 'done')), models.Q(models.Q(('status', 'done'), _negated=True), ('done_at__isnull', True)), _connector='OR'), name='core_followup_done_has_done_at'), models.UniqueConstraint(condition=models.Q(('status__in', ['pending', 'running'])), fields=('kind', 'key'), name='core_followup_one_pending_per_key')],
            },
        ),
        migrations.CreateModel(
            name='ChangeRecord',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(db_index=True, default=django.utils.timezone.now, verbose_name='when')),
                ('action', models.CharField(max_length=64, verbose_name='what')),
                ('subject_id', models.CharField(max_length=64, verbose_name='record')),
                ('scope_id', models.BigIntegerField(blank=True, null=True)),
                ('changes', models.JSONField(blank=True, default=dict, verbose_name='changes')),
                ('reason', models.TextField(blank=True, verbose_name='why')),
                ('actor', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='by')),
                ('scope_type', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='contenttypes.contenttype')),
                ('subject_type', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='contenttypes.contenttype', verbose_name='kind of record')),
            ],
            options={
                'verbose_name': 'change record',
                'verbose_name_plural': 'change records',
                'ordering': ['created_at', 'pk'],
                'indexes': [models.Index(fields=['scope_type', 'scope_id', 'created_at'], name='core_change_by_scope'), models.Index(fields=['subject_type', 'subject_id', 'created_at'], name='core_change_by_subject')],
                'constraints': [models.CheckConstraint(condition=models.Q(('action', ''), _negated=True), name='core_changerecord_action_named'), models.CheckConstraint(condition=models.Q(models.Q(('scope_id__isnull', True), ('scope_type__isnull', True)), models.Q(('scope_id__isnull', False), ('scope_type__isnull', False)), _connector='OR'), name='core_changerecord_scope_whole')],
            },
        ),
        migrations.CreateModel(
            name='Delivery',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(max_length=32, verbose_name='kind')),
                ('channel', models.CharField(default='email', max_length=16, verbose_name='channel')),
                ('recipient', models.CharField(max_length=500, verbose_name='to')),
                ('subject_id', models.CharField(blank=True, max_length=64)),
                ('batch', models.CharField(blank=True, db_index=True, max_length=64, verbose_name='batch')),
                ('dedupe_key', models.CharField(max_length=200, unique=True, verbose_name='key')),
                ('payload', models.JSONField(blank=True, default=dict, verbose_name='payload')),
                ('status', models.CharField(choices=[('queued', 'Queued'), ('sending', 'Sending'), ('sent', 'Sent'), ('failed', 'Failed'), ('cancelled', 'Not needed any more')], db_index=True, default='queued', max_length=10, verbose_name='status')),
                ('attempts', models.PositiveSmallIntegerField(default=0, verbose_name='attempts')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='created')),
                ('next_attempt_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='next attempt')),
                ('claimed_at', models.DateTimeField(blank=True, null=True, verbose_name='last attempt')),
                ('sent_at', models.DateTimeField(blank=True, null=True, verbose_name='sent')),
                ('last_error', models.TextField(blank=True, verbose_name='last error')),
                ('recipient_user', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to=settings.AUTH_USER_MODEL)),
                ('subject_type', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='contenttypes.contenttype')),
            ],
            options={
                'verbose_name': 'delivery',
                'verbose_name_plural': 'deliveries',
                'ordering': ['pk'],
                'indexes': [models.Index(fields=['kind', 'status', 'next_attempt_at'], name='core_delivery_due'), models.Index(fields=['subject_type', 'subject_id'], name='core_delivery_subject')],
                'constraints': [models.CheckConstraint(condition=models.Q(('status__in', ['queued', 'sending', 'sent', 'failed', 'cancelled'])), name='core_delivery_status_valid'), models.CheckConstraint(condition=models.Q(models.Q(('status', 'sending'), _negated=True), ('claimed_at__isnull', False), _connector='OR'), name='core_delivery_sending_has_claimed_at'), models.CheckConstraint(condition=models.Q(models.Q(('sent_at__isnull', False), ('status', 'sent')), models.Q(models.Q(('status', 'sent'), _negated=True), ('sent_at__isnull', True)), _connector='OR'), name='core_delivery_sent_iff_sent_at'), models.CheckConstraint(condition=models.Q(('recipient', ''), _negated=True), name='core_delivery_has_recipient')],
            },
        ),
    ]
