"""Operators' logos: uploaded in the admin, checked, served by the web process under a version kept by browsers for
good, and shown beside the operator's sailings on the website and in the API."""

import io

import pytest
from django.urls import reverse
from PIL import Image
from rest_framework.test import APIClient

from ferries.models import Operator
from ferries.tests.factories import sailing_factory
from maritime.tests.pages import admin_form_data

pytestmark = pytest.mark.django_db


def image(kind: str = "PNG", size: tuple[int, int] = (120, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (11, 79, 108)).save(out, format=kind)
    return out.getvalue()


def upload(admin_client, operator: Operator, content: bytes | None, name: str = "logo.png", **extra):
    """The operator's admin page sent back with this file as its logo (None: no file)."""
    url = reverse("admin:ferries_operator_change", args=[operator.pk])
    form = admin_form_data(admin_client.get(url)) | extra
    if content is not None:
        form["logo_upload"] = io.BytesIO(content)
        form["logo_upload"].name = name
    return admin_client.post(url, form)


def test_a_logo_uploaded_in_the_admin_is_served_for_good_and_shown_with_the_sailings(
    admin_client, client, tunis_marseille, django_capture_on_commit_callbacks
):
    sailing = sailing_factory(route=tunis_marseille)
    operator = tunis_marseille.operator
    params = {"from": "TNTUN", "to": "FRMRS", "date": sailing.local_day.isoformat()}
    APIClient().get("/api/v1/sailings/search", params)  # cached without a logo

    with django_capture_on_commit_callbacks(execute=True):
        saved = upload(admin_client, operator, image())

    assert saved.status_code == 302
    operator.refresh_from_db()
    served = client.get(operator.logo_url)
    assert served.status_code == 200
    assert (served["Content-Type"], served["Cache-Control"]) == ("image/png", "public, max-age=31536000, immutable")
    assert served.content == image()
    row = APIClient().get("/api/v1/sailings/search", params).json()["outbound"][0]
    assert row["operator"]["logo_url"] == operator.logo_url  # the cached search was dropped
    page = client.get(reverse("sailing_results"), params | {"trip": "one_way"})
    assert f'<img class="operator-logo" src="{operator.logo_url}" alt=""' in page.content.decode()

    old = operator.logo_url
    with django_capture_on_commit_callbacks(execute=True):
        upload(admin_client, operator, image("JPEG"), name="logo.jpg")
    operator.refresh_from_db()
    assert operator.logo_url != old
    assert client.get(old).status_code == 404
    assert client.get(operator.logo_url)["Content-Type"] == "image/jpeg"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
            "Upload a PNG, JPEG or WebP image.",
        ),
        (image("GIF"), "Upload a PNG, JPEG or WebP image."),
        (image(size=(2000, 100)), "A logo is at most 1024 pixels a side."),
        (b"\x89PNG" + b"0" * (201 * 1024), "A logo is at most 200 KB."),
    ],
)
def test_a_logo_that_is_not_a_small_image_is_refused_on_its_field_and_nothing_changes(
    admin_client, local_operator, content, message
):
    answer = upload(admin_client, local_operator, content)

    assert answer.status_code == 200
    assert answer.context["adminform"].form.errors["logo_upload"] == [message]
    local_operator.refresh_from_db()
    assert (local_operator.logo_version, bytes(local_operator.logo)) == ("", b"")


def test_removing_the_logo_takes_it_off(admin_client, client, local_operator):
    upload(admin_client, local_operator, image())
    local_operator.refresh_from_db()
    url = local_operator.logo_url

    removed = upload(admin_client, local_operator, None, remove_logo="on")

    assert removed.status_code == 302

    local_operator.refresh_from_db()
    assert local_operator.logo_url is None
    assert client.get(url).status_code == 404
