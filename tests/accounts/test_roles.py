import pytest
from django.contrib.auth.models import AnonymousUser, Group, User
from django.http import HttpResponse
from django.test import RequestFactory

from accounts.roles import is_operator, operator_required, role_of


@pytest.mark.django_db
def test_groups_exist_after_migrate():
    assert set(Group.objects.values_list("name", flat=True)) >= {"viewer", "operator", "admin"}


@pytest.mark.django_db
def test_role_of_each_group():
    viewer = User.objects.create_user("v", password="x")
    viewer.groups.add(Group.objects.get(name="viewer"))
    operator = User.objects.create_user("o", password="x")
    operator.groups.add(Group.objects.get(name="operator"))
    admin = User.objects.create_user("a", password="x")
    admin.groups.add(Group.objects.get(name="admin"))
    assert [role_of(u) for u in (viewer, operator, admin)] == ["viewer", "operator", "admin"]
    assert role_of(AnonymousUser()) == ""
    assert not is_operator(viewer) and is_operator(operator) and is_operator(admin)


@pytest.mark.django_db
def test_operator_required_forbids_viewer():
    viewer = User.objects.create_user("v", password="x")
    view = operator_required(lambda request: HttpResponse("done"))
    request = RequestFactory().post("/")
    request.user = viewer
    assert view(request).status_code == 403
    operator = User.objects.create_user("o", password="x")
    operator.groups.add(Group.objects.get(name="operator"))
    request.user = operator
    assert view(request).status_code == 200
