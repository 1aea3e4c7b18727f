"""Staff act on bookings from the admin: refund part of one, send an e-mail again, ask the operator again to
confirm. Each goes through a workflow, says per booking what it did, and refuses odd choices with a message."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from bookings.flows import cancelling
from bookings.models import Booking
from bookings.tests.factories import held_booking, pay
from ferries.tests.factories import sailing_factory
from notifications.models import Email
from notifications.services import email_enqueue
from payments.models import Refund

pytestmark = pytest.mark.django_db

S = Booking.Status
CHANGELIST = reverse("admin:bookings_booking_changelist")


def act(client, action: str, *bookings: Booking, **form):
    """Choose the action for the bookings; with `form`, fill in the action's page and apply it."""
    data = {"action": action, "_selected_action": [booking.pk for booking in bookings], **form}
    if form:
        data["post"] = "yes"
    return client.post(CHANGELIST, data, follow=True)


def said(response) -> list[tuple[str, str]]:
    assert response.status_code == 200
    return [(message.level_tag, message.message) for message in response.context["messages"]]


def form_key(response) -> str:
    return response.context["form"]["key"].value()


def booking_in(status: str, **kwargs) -> Booking:
    booking = held_booking(**kwargs)
    Booking.objects.filter(pk=booking.pk).update(status=status)
    booking.refresh_from_db()
    return booking


@pytest.fixture
def paid_booking(fake_stripe) -> Booking:
    """€100.00 paid through Stripe for a sailing ten days ahead."""
    booking = held_booking()
    pay(fake_stripe, booking)
    booking.refresh_from_db()
    assert booking.status == S.PAID
    return booking


# --- refunding an amount --------------------------------------------------------------------------


def refund(client, booking: Booking, amount: str, reason: str = "goodwill: late boarding"):
    page = act(client, "refund_amount", booking)
    return act(client, "refund_amount", booking, amount=amount, reason=reason, key=form_key(page))


def test_the_refund_page_says_what_was_paid_and_what_is_left(admin_client, paid_booking):
    Refund.objects.create(
        payment=paid_booking.payments.get(), amount_minor=3000, currency="EUR", reason="earlier", idempotency_key="k1"
    )

    response = act(admin_client, "refund_amount", paid_booking)

    assert response.status_code == 200
    assert response.context["title"] == f"Refund part of {paid_booking.reference}"
    assert "Paid €100.00, of which €70.00 is left to refund." in response.text
    assert 'name="amount"' in response.text
    assert Refund.objects.count() == 1


def test_staff_refund_part_of_a_paid_booking_which_keeps_its_status(admin_client, admin_user, paid_booking):
    response = refund(admin_client, paid_booking, "12.50")

    assert said(response) == [
        (
            "success",
            f"{paid_booking.reference}: a refund of €12.50 is asked of Stripe; the traveller is e-mailed once made.",
        )
    ]
    made = Refund.objects.get()
    assert (made.amount_minor, made.currency, made.status) == (1250, "EUR", Refund.Status.PENDING)
    assert made.reason == f"staff:{admin_user.pk}: goodwill: late boarding"
    assert made.payment.booking == paid_booking
    assert Booking.objects.get(pk=paid_booking.pk).status == S.PAID
    assert list(paid_booking.events.values_list("to_status", flat=True)) == ["held", "paid"]


@pytest.mark.parametrize(
    ("amount", "error"),
    [
        ("100.01", "At most €100.00 is left to refund."),
        ("0", "A refund is more than nothing."),
        ("-5", "Ensure this value is greater than or equal to 0."),
        ("12.345", "Ensure that there are no more than 2 decimal places."),
        ("twelve", "Enter a number."),
    ],
)
def test_an_amount_that_cannot_be_refunded_is_refused_on_the_form(admin_client, paid_booking, amount, error):
    response = refund(admin_client, paid_booking, amount)

    assert response.status_code == 200
    assert response.context["form"].errors["amount"] == [error]
    assert not Refund.objects.exists()


def test_what_was_already_refunded_counts_against_what_is_left(admin_client, paid_booking):
    refund(admin_client, paid_booking, "60")

    too_much = refund(admin_client, paid_booking, "40.01")
    the_rest = refund(admin_client, paid_booking, "40")

    assert too_much.context["form"].errors["amount"] == ["At most €40.00 is left to refund."]
    assert said(the_rest)[0][0] == "success"
    assert sorted(Refund.objects.values_list("amount_minor", flat=True)) == [4000, 6000]
    nothing_left = act(admin_client, "refund_amount", paid_booking)
    assert said(nothing_left) == [
        ("error", f"{paid_booking.reference}: Everything paid for this booking is refunded or being refunded.")
    ]


def test_a_refund_that_failed_at_stripe_leaves_its_amount_to_refund_again(admin_client, paid_booking):
    refund(admin_client, paid_booking, "100")
    Refund.objects.update(status=Refund.Status.FAILED)

    response = act(admin_client, "refund_amount", paid_booking)

    assert "of which €100.00 is left to refund" in response.text


def test_the_same_refund_page_sent_twice_refunds_once(admin_client, paid_booking):
    page = act(admin_client, "refund_amount", paid_booking)
    form = {"amount": "100", "reason": "goodwill", "key": form_key(page)}

    act(admin_client, "refund_amount", paid_booking, **form)
    again = act(admin_client, "refund_amount", paid_booking, **form)

    assert said(again) == [
        (
            "success",
            f"{paid_booking.reference}: a refund of €100.00 is asked of Stripe; the traveller is e-mailed once made.",
        )
    ]
    assert list(Refund.objects.values_list("amount_minor", flat=True)) == [10000]


def test_a_cancelled_booking_can_be_given_back_what_its_policy_kept(admin_client, fake_stripe):
    booking = held_booking(sailing_factory(departs_in=dt.timedelta(days=3)))  # half back by the policy
    pay(fake_stripe, booking)
    cancelling.booking_cancel(booking_id=booking.pk, actor="traveller", reason="plans changed")

    response = refund(admin_client, booking, "50")

    assert said(response)[0][0] == "success"
    assert sorted(Refund.objects.values_list("amount_minor", flat=True)) == [5000, 5000]
    assert Booking.objects.get(pk=booking.pk).status == S.CANCELLED


def test_a_booking_that_was_not_paid_cannot_be_refunded(admin_client):
    booking = held_booking()

    response = act(admin_client, "refund_amount", booking)

    assert said(response) == [("error", f"{booking.reference}: A booking that is held, awaiting payment was not paid.")]
    assert "form" not in response.context


def test_a_booking_marked_paid_without_a_payment_cannot_be_refunded(admin_client):
    booking = booking_in(S.CONFIRMED)

    response = act(admin_client, "refund_amount", booking)

    assert said(response) == [("error", f"{booking.reference}: This booking has no successful payment to refund.")]


def test_refunding_asks_for_one_booking_at_a_time(admin_client, paid_booking):
    response = act(admin_client, "refund_amount", paid_booking, held_booking())

    assert said(response) == [("warning", "Choose one booking to refund part of.")]
    assert not Refund.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_traveller_is_e_mailed_once_stripe_has_made_the_refund(admin_client, fake_stripe, eager_tasks):
    booking = held_booking()
    pay(fake_stripe, booking)

    refund(admin_client, booking, "12.50")

    made = Refund.objects.get()
    assert made.status == Refund.Status.SUCCEEDED
    assert [r["amount"] for r in fake_stripe.refunds.values()] == [1250]
    notice = Email.objects.get(booking=booking, kind=Email.Kind.REFUND)
    assert (notice.details, notice.status) == (
        {"refund_minor": 1250, "currency": "EUR", "cause": Refund.Cause.STAFF, "credit_note": made.credit_note.number},
        Email.Status.SENT,
    )
    assert Booking.objects.get(pk=booking.pk).status == S.CONFIRMED


# --- e-mails ----------------------------------------------------------------------------------------


def sent(booking: Booking, kind: str, **fields) -> Email:
    email = email_enqueue(booking=booking, kind=kind, **fields)
    Email.objects.filter(pk=email.pk).update(status=Email.Status.SENT, sent_at=timezone.now(), attempts=1)
    return email


def test_the_booking_page_lists_its_e_mails_with_a_link_to_each(admin_client):
    booking = booking_in(S.CONFIRMED)
    receipt = sent(booking, Email.Kind.PAYMENT_SUCCESS)
    confirmation = sent(booking, Email.Kind.BOOKING_CONFIRMATION)

    response = admin_client.get(reverse("admin:bookings_booking_change", args=[booking.pk]))

    text = response.text
    receipt_link = reverse("admin:notifications_email_change", args=[receipt.pk])
    confirmation_link = reverse("admin:notifications_email_change", args=[confirmation.pk])
    assert f'<a href="{receipt_link}" class="inlineviewlink">' in text
    assert f'<a href="{confirmation_link}" class="inlineviewlink">' in text
    assert text.index("Payment receipt —") < text.index(receipt_link) < text.index(confirmation_link), "oldest first"
    assert "Booking confirmation with e-tickets —" in text
    assert "amira@example.com" in text


def test_resending_the_confirmation_queues_the_latest_again_to_the_corrected_address(admin_client):
    booking = booking_in(S.CONFIRMED)
    confirmation = sent(booking, Email.Kind.BOOKING_CONFIRMATION)
    Booking.objects.filter(pk=booking.pk).update(contact_email="amira.bs@example.com")

    response = act(admin_client, "resend_email", booking, kind="booking_confirmation")

    assert said(response) == [
        ("success", f"{booking.reference}: Booking confirmation with e-tickets queued for amira.bs@example.com.")
    ]
    confirmation.refresh_from_db()
    assert (confirmation.status, confirmation.recipient) == (Email.Status.QUEUED, "amira.bs@example.com")
    assert Email.objects.count() == 1, "the same e-mail goes again"


def test_resending_a_refund_notice_sends_the_latest_of_several(admin_client):
    booking = booking_in(S.CANCELLED)
    first = sent(booking, Email.Kind.REFUND, key="re_1")
    latest = sent(booking, Email.Kind.REFUND, key="re_2")

    act(admin_client, "resend_email", booking, kind="refund")

    statuses = dict(Email.objects.values_list("pk", "status"))
    assert statuses == {first.pk: Email.Status.SENT, latest.pk: Email.Status.QUEUED}


def test_resending_warns_for_each_booking_that_never_had_that_e_mail(admin_client):
    confirmed, held = booking_in(S.CONFIRMED), held_booking()
    confirmation = sent(confirmed, Email.Kind.BOOKING_CONFIRMATION)

    response = act(admin_client, "resend_email", confirmed, held, kind="booking_confirmation")

    assert sorted(said(response)) == sorted(
        [
            ("success", f"{confirmed.reference}: Booking confirmation with e-tickets queued for amira@example.com."),
            ("warning", f"{held.reference} has no Booking confirmation with e-tickets to send again."),
        ]
    )
    assert list(Email.objects.values_list("pk", flat=True)) == [confirmation.pk]


def test_the_resend_page_offers_the_traveller_e_mails_with_the_confirmation_chosen(admin_client):
    booking = booking_in(S.CONFIRMED)

    response = act(admin_client, "resend_email", booking)

    form = response.context["form"]
    assert form["kind"].value() == "booking_confirmation"
    assert [value for value, _label in form.fields["kind"].choices] == [
        "booking_confirmation", "payment_success", "refund", "cancellation", "hold_expired"
    ]  # fmt: skip
    assert booking.reference in response.text


def test_an_unknown_e_mail_kind_is_refused_on_the_form(admin_client):
    booking = booking_in(S.CONFIRMED)
    sent(booking, Email.Kind.BOOKING_CONFIRMATION)

    response = act(admin_client, "resend_email", booking, kind="love_letter")

    assert "kind" in response.context["form"].errors
    assert Email.objects.get().status == Email.Status.SENT


@pytest.mark.django_db(transaction=True)
def test_a_resent_e_mail_goes_on_the_emails_queue(admin_client, broker):
    booking = booking_in(S.CONFIRMED)
    sent(booking, Email.Kind.BOOKING_CONFIRMATION)
    broker.purge()

    act(admin_client, "resend_email", booking, kind="booking_confirmation")

    assert broker.queue_length("emails") == 1


# --- confirming with the operator again -----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_retrying_the_confirmation_queues_one_task_on_the_bookings_queue(admin_client, broker):
    booking = booking_in(S.PAID)
    broker.purge()

    response = act(admin_client, "retry_confirmation", booking)

    assert said(response) == [("success", f"{booking.reference}: confirmation asked of the operator again.")]
    assert broker.queue_length("bookings") == 1


@pytest.mark.django_db(transaction=True)
def test_retrying_the_confirmation_confirms_a_paid_booking_and_sends_its_tickets(admin_client, eager_tasks):
    booking = booking_in(S.PAID)

    act(admin_client, "retry_confirmation", booking)

    assert Booking.objects.get(pk=booking.pk).status == S.CONFIRMED
    assert Email.objects.get(booking=booking).kind == Email.Kind.BOOKING_CONFIRMATION


def test_only_paid_bookings_are_sent_to_the_operator_again(admin_client):
    confirmed, failed, held = booking_in(S.CONFIRMED), booking_in(S.FAILED), held_booking()

    response = act(admin_client, "retry_confirmation", confirmed, failed, held)

    assert sorted(said(response)) == sorted(
        [
            ("warning", f"{ref}: Only a paid booking awaits the operator's confirmation; this one is {status}.")
            for ref, status in [
                (confirmed.reference, "confirmed"),
                (failed.reference, "refused by the operator"),
                (held.reference, "held, awaiting payment"),
            ]
        ]
    )
    assert dict(Booking.objects.values_list("pk", "status")) == {
        confirmed.pk: S.CONFIRMED, failed.pk: S.FAILED, held.pk: S.HELD
    }  # fmt: skip
