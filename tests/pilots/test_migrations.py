"""Data migrations: what they write, that a second run changes nothing, and their reverse."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.db import connection

from core.ops import OPS_GROUP

pytestmark = pytest.mark.django_db

ops_can_view_users = importlib.import_module("pilots.migrations.0009_ops_group_can_view_users")


class SchemaEditor:
    connection = connection


def test_the_migrated_database_has_an_ops_group_that_may_view_users():
    group = Group.objects.get(name=OPS_GROUP)
    assert group.permissions.filter(content_type__app_label="auth", codename="view_user").exists()
    assert not group.permissions.filter(codename__in=["change_user", "add_user", "delete_user"])


def test_it_creates_the_missing_group_once_and_its_reverse_keeps_the_group():
    Group.objects.filter(name=OPS_GROUP).delete()
    ops_can_view_users.grant_view_user(apps, SchemaEditor)
    ops_can_view_users.grant_view_user(apps, SchemaEditor)
    [group] = Group.objects.filter(name=OPS_GROUP)
    assert list(group.permissions.values_list("codename", flat=True)) == ["view_user"]
    kept = Permission.objects.get(codename="view_pilot")
    group.permissions.add(kept)
    ops_can_view_users.revoke_view_user(apps, SchemaEditor)
    assert list(group.permissions.all()) == [kept]
    assert Permission.objects.filter(codename="view_user").count() == 1
