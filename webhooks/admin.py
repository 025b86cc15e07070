"""Ops register and change webhook endpoints here, and read what was delivered.

One more adapter over webhooks.endpoints: a new endpoint gets its secret from the server and
the secret is shown once, in the answer to the saving request; nothing shows it again.
Deliveries and their attempts are read-only. Who may: core.ops.may_manage_webhooks.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext_lazy

from core.exceptions import DomainError
from core.ops import may_manage_webhooks

from . import endpoints
from .models import Attempt, Delivery, Endpoint, Event


class EndpointForm(forms.ModelForm):
    url = forms.URLField(label=gettext_lazy("URL"), max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(
        label=gettext_lazy("events"), choices=Event.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = Endpoint
        fields = ["name", "kind", "url", "events", "active"]

    def clean(self):
        cleaned = super().clean()
        fields = {k: cleaned[k] for k in ("name", "url", "events", "kind") if k in cleaned}
        try:
            # The domain's own checks (the SSRF guard among them), before anything is saved.
            endpoints.check_fields(fields)
        except DomainError as error:
            field = error.field if error.field in self.fields else None
            raise ValidationError({field: error.message} if field else error.message) from None
        return cleaned


class Managed(admin.ModelAdmin):
    def has_module_permission(self, request: HttpRequest) -> bool:
        return may_manage_webhooks(request.user)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return may_manage_webhooks(request.user)


class AttemptInline(admin.TabularInline):
    model = Attempt
    fields = ["number", "at", "status_code", "duration_ms", "error"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return may_manage_webhooks(request.user)


@admin.register(Endpoint)
class EndpointAdmin(Managed):
    form = EndpointForm
    list_display = ["name", "kind", "url", "active", "consecutive_failures", "disabled_at"]
    list_filter = ["kind", "active"]
    readonly_fields = ["consecutive_failures", "disabled_at", "disabled_reason", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return may_manage_webhooks(request.user)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return may_manage_webhooks(request.user)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return may_manage_webhooks(request.user)

    def save_model(self, request: HttpRequest, obj: Endpoint, form, change: bool) -> None:
        data = {k: form.cleaned_data[k] for k in ("name", "kind", "url", "events", "active")}
        if change:
            saved = endpoints.update(obj.pk, actor=request.user, fields=data)
        else:
            registered = endpoints.register(actor=request.user, **data)
            saved = registered.endpoint
            # Shown in the answer to this request only (response_add): never stored, never put
            # in a redirect or a message, like an API token.
            request._webhook_secret = registered.secret
        obj.pk = saved.pk
        obj.refresh_from_db()

    def response_add(self, request: HttpRequest, obj: Endpoint, post_url_continue=None):
        secret = getattr(request, "_webhook_secret", None)
        if secret is None:
            return super().response_add(request, obj, post_url_continue)
        response = TemplateResponse(
            request,
            "admin/webhooks/endpoint/secret.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": obj.name,
                "endpoint": obj,
                "secret": secret,
            },
        )
        add_never_cache_headers(response)
        return response

    def delete_model(self, request: HttpRequest, obj: Endpoint) -> None:
        endpoints.remove(obj.pk, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset) -> None:
        for endpoint in queryset:
            endpoints.remove(endpoint.pk, actor=request.user)


@admin.register(Delivery)
class DeliveryAdmin(Managed):
    list_display = ["created_at", "endpoint", "event", "idempotency_key", "state", "tries"]
    list_filter = ["event", "endpoint"]
    list_select_related = ["endpoint", "outbox"]
    fields = ["endpoint", "event", "idempotency_key", "created_at", "state", "payload"]
    readonly_fields = fields
    inlines = [AttemptInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description=gettext_lazy("state"))
    def state(self, obj: Delivery) -> str:
        return obj.outbox.get_status_display()

    @admin.display(description=gettext_lazy("attempts"))
    def tries(self, obj: Delivery) -> int:
        return obj.outbox.attempts
