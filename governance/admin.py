"""Ops publish charter versions here (through `charter.publish`) and read acknowledgements."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from core.admin import AppendOnlyAdmin
from core.exceptions import DomainError
from pilots import access

from . import champions, charter
from .models import Acknowledgement, CharterVersion, TeamChampion, TrainingSession


class CharterVersionForm(forms.ModelForm):
    class Meta:
        model = CharterVersion
        fields = ["body_en", "body_fr"]
        help_texts = {
            "body_en": _(
                "Markdown. Published versions are never edited: a change is a new version, and "
                "every participant is asked to acknowledge it before their next invitation."
            ),
            "body_fr": _("Markdown. Optional: French readers see the English text without it."),
        }


@admin.register(CharterVersion)
class CharterVersionAdmin(AppendOnlyAdmin, admin.ModelAdmin):
    """Append-only: a version is added (published), then only read."""

    form = CharterVersionForm
    list_display = ["number", "published_at", "published_by"]
    list_select_related = ["published_by"]
    readonly_fields = ["number", "published_at", "published_by", "body_en", "body_fr"]

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        return self.readonly_fields if obj is not None else []

    def get_fields(self, request: HttpRequest, obj=None) -> list[str]:
        if obj is not None:
            return self.readonly_fields
        return ["body_en", "body_fr"]

    def may_add(self, user) -> bool:
        return access.may_publish_charter(user)

    def save_model(self, request: HttpRequest, obj: CharterVersion, form, change: bool) -> None:
        try:
            version = charter.publish(actor=request.user, body_en=obj.body_en, body_fr=obj.body_fr)
        except DomainError as e:
            raise PermissionDenied(e.message) from e
        obj.pk = version.pk
        obj.number = version.number
        obj.published_at = version.published_at
        obj.published_by = version.published_by


@admin.register(Acknowledgement)
class AcknowledgementAdmin(AppendOnlyAdmin, admin.ModelAdmin):
    """Records: read only. Coverage per pilot and team: /charter/coverage/."""

    list_display = ["acknowledged_at", "user", "pilot", "version"]
    list_filter = ["version"]
    list_select_related = ["user", "pilot", "version"]
    search_fields = ["pilot__title", "user__username"]
    readonly_fields = ["user", "pilot", "version", "acknowledged_at", "guardrails"]


@admin.register(TeamChampion)
class TeamChampionAdmin(AppendOnlyAdmin, admin.ModelAdmin):
    """Ops name champions through `champions.name_champion`; gaps: /champion/coverage/."""

    list_display = ["team", "user", "hours_per_month", "named_at", "named_by"]
    list_select_related = ["team", "user", "named_by"]
    list_filter = ["team"]
    raw_id_fields = ["user"]
    fields = ["team", "user", "duties", "hours_per_month"]

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        return [*self.fields, "named_at", "named_by"] if obj is not None else []

    def may_add(self, user) -> bool:
        return access.may_name_champions(user)

    def save_model(self, request: HttpRequest, obj: TeamChampion, form, change: bool) -> None:
        try:
            saved = champions.name_champion(
                obj.team,
                actor=request.user,
                user=obj.user,
                duties=obj.duties,
                hours_per_month=obj.hours_per_month,
            )
        except DomainError as e:
            raise PermissionDenied(e.message) from e
        obj.pk = saved.pk
        obj.named_at = saved.named_at
        obj.named_by = saved.named_by


@admin.register(TrainingSession)
class TrainingSessionAdmin(AppendOnlyAdmin, admin.ModelAdmin):
    """Recorded by Ops here or by champions on /champion/; then only read."""

    list_display = ["held_on", "team", "topic", "attendees", "recorded_by"]
    list_select_related = ["team", "recorded_by"]
    list_filter = ["team"]
    fields = ["team", "topic", "held_on", "attendees", "material_url"]

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        return [*self.fields, "recorded_by", "recorded_at"] if obj is not None else []

    def may_add(self, user) -> bool:
        # Ops, or a champion (with admin access) for their teams: the rule of /champion/.
        return access.may_record_training(user)

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        if db_field.name == "team":
            kwargs["queryset"] = access.training_teams(request.user).order_by("name")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: TrainingSession, form, change: bool) -> None:
        try:
            saved = champions.record_training(
                obj.team,
                actor=request.user,
                topic=obj.topic,
                held_on=obj.held_on,
                attendees=obj.attendees,
                material_url=obj.material_url,
            )
        except DomainError as e:
            raise PermissionDenied(e.message) from e
        obj.pk = saved.pk
        obj.recorded_by = saved.recorded_by
        obj.recorded_at = saved.recorded_at
