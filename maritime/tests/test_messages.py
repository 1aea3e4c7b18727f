"""Messages (kernel.messages.LazyMessageMiddleware): the storage is made when a request uses it, and messages go from
the request that leaves them to the page that shows them as with Django's own middleware."""

import pytest
from django.contrib import messages
from django.http import HttpResponse
from django.urls import path
from django.utils.functional import empty


def leave(request):
    messages.success(request, "Booking MRT123 cancelled.")
    return HttpResponse("left")


def show(request):
    return HttpResponse(" | ".join(str(message) for message in messages.get_messages(request)))


def leave_and_show(request):
    leave(request)
    return show(request)


def quiet(request):
    return HttpResponse("quiet")


urlpatterns = [path("leave", leave), path("show", show), path("leave-and-show", leave_and_show), path("quiet", quiet)]

pytestmark = [pytest.mark.urls(__name__), pytest.mark.django_db]


def test_the_site_uses_the_lazy_middleware_in_place_of_djangos(settings):
    assert "kernel.messages.LazyMessageMiddleware" in settings.MIDDLEWARE
    assert "django.contrib.messages.middleware.MessageMiddleware" not in settings.MIDDLEWARE


def test_a_request_that_uses_no_message_makes_no_storage_and_sets_no_cookie(client):
    response = client.get("/quiet")

    assert response.content == b"quiet"
    assert response.wsgi_request._messages._wrapped is empty
    assert "messages" not in response.cookies


def test_a_message_left_is_kept_past_pages_that_do_not_show_it_then_shown_once(client):
    left = client.get("/leave")
    assert left.cookies["messages"].value  # kept in the cookie storage, as Django's middleware keeps it

    passing = client.get("/quiet")
    assert passing.wsgi_request._messages._wrapped is empty
    assert "messages" not in passing.cookies  # neither read nor cleared: still in the client's cookie

    shown = client.get("/show")
    assert shown.content == b"Booking MRT123 cancelled."
    assert shown.cookies["messages"]["max-age"] == 0  # shown, so cleared

    assert client.get("/show").content == b""


def test_a_message_left_and_shown_in_one_request_is_not_kept(client):
    response = client.get("/leave-and-show")

    assert response.content == b"Booking MRT123 cancelled."
    assert "messages" not in response.cookies
    assert client.get("/show").content == b""
