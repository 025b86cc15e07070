"""Who is Ops: the one home of that rule.

Ops are the members of the "Ops" group, and superusers. Every layer above asks `is_ops` (one
user) or `ops_users` (whom to tell); nothing recomputes it from the group's name.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet

OPS_GROUP = "Ops"


def is_ops(user) -> bool:
    """Tell whether a user belongs to Ops (the 'Ops' group, or a superuser), active only."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    cached = getattr(user, "_is_ops", None)
    if cached is None:
        cached = user.groups.filter(name=OPS_GROUP).exists()
        user._is_ops = cached
    return cached


def mark_ops(users) -> None:
    """Fill `is_ops`'s cache for many users in one query (a page listing people)."""
    users = [u for u in users if getattr(u, "_is_ops", None) is None]
    if not users:
        return
    in_group = set(
        get_user_model()
        .objects.filter(pk__in=[u.pk for u in users], groups__name=OPS_GROUP)
        .values_list("pk", flat=True)
    )
    for user in users:
        user._is_ops = user.is_superuser or user.pk in in_group


def ops_users() -> QuerySet:
    """Active Ops users: the group's members and the superusers."""
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(groups__name=OPS_GROUP))
        .distinct()
    )


def may_manage_webhooks(user) -> bool:
    """Tell whether a user may register, change, remove webhook endpoints and see their
    deliveries: Ops only (an endpoint receives news of every team's pilots)."""
    return is_ops(user)
