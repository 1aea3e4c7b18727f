"""Bookings: a party on one to four sailings (one way, a return, or a trip of up to four legs), held, paid,
confirmed with the operator, or not.

A booking's status changes only through `bookings.services.booking_transition`, which checks the
table below, locks the row and writes a BookingEvent.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from ferries.choices import Accommodation, Assistance, PassengerType, PetType, VehicleCategory, VehicleLoad
from ferries.models import CURRENCY_VALIDATOR, Route, Sailing
from ferries.pricing import NO_CHANGES, change_policy_wire


class Booking(models.Model):
    class Status(models.TextChoices):
        HELD = "held", _("Held, awaiting payment")
        PAID = "paid", _("Paid, awaiting the operator")
        CONFIRMED = "confirmed", _("Confirmed")
        EXPIRED = "expired", _("Expired unpaid")
        CANCELLED = "cancelled", _("Cancelled")
        REFUNDED = "refunded", _("Cancelled and refunded")
        FAILED = "failed", _("Refused by the operator")

    # Where each status may go next. Setting the current status again is a no-op, not a transition.
    TRANSITIONS = {
        Status.HELD: {Status.PAID, Status.EXPIRED, Status.CANCELLED},
        Status.PAID: {Status.CONFIRMED, Status.CANCELLED, Status.FAILED},
        Status.CONFIRMED: {Status.CANCELLED},
        # Money arrived late: paid if the places could be taken again, else cancelled (and refunded).
        Status.EXPIRED: {Status.PAID, Status.CANCELLED},
        Status.CANCELLED: {Status.REFUNDED},
        Status.FAILED: {Status.REFUNDED},
        Status.REFUNDED: set(),
    }

    reference = models.CharField(max_length=12, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.HELD, db_index=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="bookings"
    )
    # The guest access token is derived from this salt and SECRET_KEY, never stored (bookings.access).
    access_salt = models.CharField(max_length=32, editable=False)
    idempotency_key = models.CharField(max_length=100, null=True, blank=True, unique=True, editable=False)
    idempotency_fingerprint = models.CharField(max_length=64, blank=True, editable=False)
    contact_name = models.CharField(max_length=150)
    contact_email = models.EmailField(db_index=True)
    contact_phone = models.CharField(max_length=32)
    billing = models.JSONField(
        default=dict, blank=True,
        help_text=_("Who invoices are made out to, when not the contact: name, address, company, VAT number."),
    )  # fmt: skip
    language = models.CharField(max_length=8, default="en")
    accommodation = models.CharField(max_length=20, choices=Accommodation.choices, default=Accommodation.DECK)
    pets = models.PositiveSmallIntegerField(default=0, help_text=_("In all, dogs and cats included."))
    dogs = models.PositiveSmallIntegerField(default=0)
    cats = models.PositiveSmallIntegerField(default=0)
    cancellation_protection = models.BooleanField(
        default=False, help_text=_("Refunds all but itself until 24 hours before each departure, whatever the fare.")
    )
    total_minor = models.PositiveIntegerField()
    currency = models.CharField(max_length=3, validators=[CURRENCY_VALIDATOR])
    tickets_version = models.PositiveIntegerField(
        default=1, help_text=_("Raised by every change made: e-tickets of an earlier version no longer board.")
    )
    hold_expires_at = models.DateTimeField(db_index=True)
    anonymised_at = models.DateTimeField(
        null=True, blank=True, editable=False,
        help_text=_("When its contact, passengers and vehicle were anonymised (bookings.privacy)."),
    )  # fmt: skip
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "hold_expires_at"], name="booking_status_hold")]
        constraints = [
            models.CheckConstraint(condition=Q(pets__gte=models.F("dogs") + models.F("cats")), name="pets_in_all")
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def pet_counts(self) -> dict[str, int]:
        """Its pets by kind (PetType), kinds with none left out."""
        counts = {PetType.DOG: self.dogs, PetType.CAT: self.cats, PetType.OTHER: self.pets - self.dogs - self.cats}
        return {str(kind): n for kind, n in counts.items() if n > 0}

    def may_become(self, status: str) -> bool:
        return status in self.TRANSITIONS[self.status]

    @property
    def has_tickets(self) -> bool:
        """Confirmed with the operators: its e-tickets exist."""
        return self.status == self.Status.CONFIRMED

    @property
    def is_active(self) -> bool:
        """Travel still planned (held, paid or confirmed)."""
        return self.status in {self.Status.HELD, self.Status.PAID, self.Status.CONFIRMED}


class BookingLeg(models.Model):
    class Direction(models.TextChoices):
        """Which leg of the trip: the outbound, then a return or — a trip of several legs (island hopping) — the
        second, third and fourth legs, each leaving after the one before arrives."""

        OUTBOUND = "outbound", _("Outbound")
        RETURN = "return", _("Return")
        LEG_2 = "leg_2", _("Second leg")
        LEG_3 = "leg_3", _("Third leg")
        LEG_4 = "leg_4", _("Fourth leg")

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="legs")
    direction = models.CharField(max_length=10, choices=Direction.choices)
    sailing = models.ForeignKey(Sailing, on_delete=models.PROTECT, related_name="booking_legs")
    operator_hold_ref = models.CharField(max_length=40)
    operator_booking_ref = models.CharField(max_length=40, blank=True)
    accommodation = models.CharField(
        max_length=20, blank=True, choices=Accommodation.choices,
        help_text=_("On board on this leg; empty on legs sold before it was chosen per leg: the booking's."),
    )  # fmt: skip
    price_minor = models.PositiveIntegerField()
    price_lines = models.JSONField(help_text=_("The quote's lines, in minor units."))
    # The fare family and its rules as sold: later fare changes do not alter them.
    fare_family = models.CharField(max_length=20, default="standard")
    fare_family_name = models.CharField(max_length=40, default="Standard")
    refund_full_days = models.PositiveIntegerField(null=True, blank=True, help_text=_("Empty: no full refund."))
    refund_partial_hours = models.PositiveIntegerField()
    refund_partial_percent = models.PositiveIntegerField()
    change_rules = models.JSONField(
        default=dict,
        help_text=_("The fare family's rules for changes, as the search shows them; empty on legs sold before fare "
                    "families: no changes."),
    )  # fmt: skip
    released_at = models.DateTimeField(null=True, blank=True, help_text=_("When the operator's hold was given back."))
    changes_made = models.PositiveSmallIntegerField(default=0, help_text=_("Changes made to this leg so far."))
    reminded = models.CharField(
        max_length=4, blank=True, choices=[("", _("Not yet")), ("24h", _("The day before")), ("2h", _("On the day"))],
        help_text=_("The latest departure reminder sent for this leg's sailing."),
    )  # fmt: skip

    class Meta:
        # In the order they sail: each leg leaves after the one before it arrives.
        ordering = ["booking", "sailing__departs_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["booking", "direction"], name="booking_leg_once")]

    def __str__(self) -> str:
        return f"{self.booking.reference} {self.get_direction_display()}: {self.sailing.ref}"

    @property
    def on_board(self) -> str:
        """The accommodation the party has on this leg."""
        return self.accommodation or self.booking.accommodation

    @property
    def fare(self) -> dict:
        return {"code": self.fare_family, "name": self.fare_family_name}

    @property
    def change_policy(self) -> dict:
        """The rules for changes as sold (`change_rules`); none for a leg sold before fare families."""
        return self.change_rules or change_policy_wire(NO_CHANGES, self.booking.currency)

    @property
    def cancellation_policy(self) -> dict:
        return {
            "refund_full_days": self.refund_full_days,
            "refund_partial_hours": self.refund_partial_hours,
            "refund_partial_percent": self.refund_partial_percent,
        }


class Passenger(models.Model):
    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="passengers")
    type = models.CharField(max_length=10, choices=PassengerType.choices)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    date_of_birth = models.DateField()
    nationality = models.CharField(max_length=2, help_text=_("ISO 3166-1 alpha-2"))
    document_number = models.CharField(max_length=32)
    assistance = models.CharField(
        max_length=20, blank=True, choices=Assistance.choices,
        help_text=_("Help needed on board and at the quay, passed to the operator."),
    )  # fmt: skip

    class Meta:
        ordering = ["booking", "pk"]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}"


class BookingVehicle(models.Model):
    """One of the booking's vehicles (a car, its trailer, motorbikes, bicycles), in the order they were booked."""

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="vehicles")
    category = models.CharField(max_length=20, choices=VehicleCategory.choices)
    registration = models.CharField(max_length=16)
    length_cm = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    height_cm = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    load = models.CharField(
        max_length=12, choices=VehicleLoad.choices, blank=True, default="",
        help_text=_("On the roof or at the back, adding to the size above."),
    )  # fmt: skip
    measured_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When port staff measured it (the size above is then theirs).")
    )
    measured_by = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["booking", "pk"]

    def __str__(self) -> str:
        return f"{self.get_category_display()} {self.registration}"


class BookingEvent(models.Model):
    """One status change: who, when, from, to, why."""

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=10, blank=True)
    to_status = models.CharField(max_length=10)
    actor = models.CharField(max_length=64, help_text=_("system, traveller, user:<id>, staff:<id>, operator"))
    reason = models.CharField(max_length=255)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["booking", "at", "pk"]
        constraints = [models.CheckConstraint(condition=~Q(from_status=models.F("to_status")), name="event_changes")]

    def __str__(self) -> str:
        return f"{self.booking.reference}: {self.from_status or '—'} → {self.to_status}"


class BookingChange(models.Model):
    """A change of a booking, quoted with its new places held, then made (paid for or refunded) or dropped.

    Its rows are the booking's history of changes: who asked, when, what changed and for how much money.
    """

    class Status(models.TextChoices):
        QUOTED = "quoted", _("Quoted, new places held")
        AWAITING_PAYMENT = "awaiting_payment", _("Awaiting payment of the difference")
        PAID = "paid", _("Paid, being made")
        CONFIRMED = "confirmed", _("Made")
        EXPIRED = "expired", _("Expired")
        SUPERSEDED = "superseded", _("Replaced by a later quote")
        FAILED = "failed", _("Refused by the operator")

    class Kind(models.TextChoices):
        CHANGE = "change", _("Change")
        LEG_CANCELLED = "leg_cancelled", _("A leg cancelled")
        PASSENGER_CANCELLED = "passenger_cancelled", _("A passenger cancelled")
        REROUTED = "rerouted", _("Re-routed after a disruption")
        REMEASURED = "vehicle_remeasured", _("Vehicle measured at the quay")

    # A change in these states holds places, and a booking has at most one.
    OPEN = (Status.QUOTED, Status.AWAITING_PAYMENT, Status.PAID)
    # The traveller may still pay for or drop a change in these states; past its deadline it expires.
    PENDING = (Status.QUOTED, Status.AWAITING_PAYMENT)

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="changes")
    number = models.PositiveSmallIntegerField(help_text=_("1 for the booking's first change quoted, and so on."))
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.CHANGE)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUOTED, db_index=True)
    actor = models.CharField(max_length=64, help_text=_("traveller, user:<id>, staff:<id>"))
    summary = models.CharField(max_length=255, help_text=_("What changes, in words."))
    wanted = models.JSONField(help_text=_("The change as asked, in the API's form."))
    party = models.JSONField(help_text=_("Passengers, vehicle, accommodation and pets as the change makes them."))
    old_legs = models.JSONField(default=list, help_text=_("The changed legs as they were booked."))
    new_legs = models.JSONField(default=list, help_text=_("The changed legs as quoted, with their holds."))
    difference_minor = models.IntegerField(help_text=_("New price less old price; negative when cheaper."))
    fee_minor = models.PositiveIntegerField()
    due_minor = models.PositiveIntegerField(help_text=_("What the traveller pays to make the change."))
    refund_minor = models.PositiveIntegerField(help_text=_("What the traveller gets back when it is made."))
    currency = models.CharField(max_length=3, validators=[CURRENCY_VALIDATOR])
    expires_at = models.DateTimeField(db_index=True)
    note = models.CharField(max_length=255, blank=True, help_text=_("Why it expired, failed or was replaced."))
    remote_pending = models.BooleanField(
        default=False, help_text=_("Places at remote operators the change no longer needs are still to be given back.")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["booking", "number"]
        constraints = [
            models.UniqueConstraint(fields=["booking", "number"], name="booking_change_number_once"),
            models.UniqueConstraint(
                fields=["booking"], condition=Q(status__in=["quoted", "awaiting_payment", "paid"]),
                name="booking_change_one_open",
            ),
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.booking.reference} change {self.number}"

    @property
    def is_pending(self) -> bool:
        return self.status in self.PENDING


class Boarding(models.Model):
    """One passenger's, or one vehicle's, check-in and boarding on one leg, as the port's agents record them."""

    leg = models.ForeignKey(BookingLeg, on_delete=models.CASCADE, related_name="boardings")
    passenger = models.ForeignKey(
        Passenger, null=True, blank=True, on_delete=models.CASCADE, related_name="boardings",
        help_text=_("Empty: one of the booking's vehicles."),
    )  # fmt: skip
    vehicle = models.ForeignKey(
        BookingVehicle, null=True, blank=True, on_delete=models.CASCADE, related_name="boardings",
        help_text=_("The vehicle, when no passenger."),
    )  # fmt: skip
    checked_in_at = models.DateTimeField()
    checked_in_by = models.CharField(max_length=64, help_text=_("staff:<id>"))
    boarded_at = models.DateTimeField(null=True, blank=True)
    boarded_by = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["leg", "passenger"]
        permissions = [("check_in_travellers", _("Can check in and board travellers at the port"))]
        constraints = [
            models.UniqueConstraint(
                fields=["leg", "passenger"], condition=Q(passenger__isnull=False), name="boarding_once_per_passenger"
            ),
            models.UniqueConstraint(
                fields=["leg", "vehicle"], condition=Q(vehicle__isnull=False), name="boarding_once_per_vehicle"
            ),
            models.CheckConstraint(
                condition=Q(passenger__isnull=False, vehicle__isnull=True)
                | Q(passenger__isnull=True, vehicle__isnull=False),
                name="boarding_of_one_traveller",
            ),
            models.CheckConstraint(
                condition=Q(boarded_at__isnull=True) | Q(boarded_at__gte=models.F("checked_in_at")),
                name="boarding_after_check_in",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.leg}: {self.passenger or self.vehicle}"


class TicketScan(models.Model):
    """An e-ticket scanned, or a reference typed, at the quay for one sailing: what the agent was told, and when.

    The record of who came through, and how the check-in page knows a code was scanned before."""

    class Outcome(models.TextChoices):
        VALID = "valid", _("Valid")
        SCANNED_BEFORE = "scanned_before", _("Already checked in")
        WRONG_SAILING = "wrong_sailing", _("Another sailing's ticket")
        REPLACED = "replaced", _("Replaced by a change")
        CANCELLED = "cancelled", _("Cancelled")
        NOT_CONFIRMED = "not_confirmed", _("Not confirmed")
        INVALID = "invalid", _("Not one of our e-tickets")
        UNKNOWN = "unknown", _("No such booking")

    sailing = models.ForeignKey(Sailing, on_delete=models.CASCADE, related_name="ticket_scans")
    booking = models.ForeignKey(Booking, null=True, blank=True, on_delete=models.CASCADE, related_name="scans")
    direction = models.CharField(max_length=10, blank=True)
    typed = models.BooleanField(default=False, help_text=_("The reference was typed, not scanned."))
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    agent = models.CharField(max_length=64)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.sailing.ref}: {self.get_outcome_display()}"


class Disruption(models.Model):
    """A leg whose sailing the operator cancelled, or delayed more than 90 minutes: the traveller chooses re-routing
    on the next sailing with room (held for them: `reroute`), a refund of the leg, or — delayed — to travel anyway.
    Without a choice by the deadline, a cancelled leg is refunded and a delayed one kept."""

    class Cause(models.TextChoices):
        CANCELLED = "cancelled", _("Sailing cancelled")
        DELAYED = "delayed", _("Departure delayed over 90 minutes")

    class Status(models.TextChoices):
        OFFERED = "offered", _("Choice offered")
        REROUTED = "rerouted", _("Re-routed")
        REFUNDED = "refunded", _("Leg refunded")
        KEPT = "kept", _("Travelling on the delayed sailing")
        CLOSED = "closed", _("Closed (the booking was cancelled)")

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="disruptions")
    direction = models.CharField(max_length=10, choices=BookingLeg.Direction.choices)
    sailing = models.ForeignKey(Sailing, on_delete=models.PROTECT, related_name="disruptions")
    cause = models.CharField(max_length=10, choices=Cause.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OFFERED, db_index=True)
    reroute = models.ForeignKey(
        BookingChange, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text=_("The re-routing offered, its places held; empty when no sailing had room."),
    )  # fmt: skip
    note = models.CharField(max_length=255, blank=True)
    deadline = models.DateTimeField(help_text=_("The choice is open until then."))
    decided_by = models.CharField(max_length=64, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["booking", "created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["booking", "direction", "sailing"], name="disruption_once_per_leg")
        ]

    def __str__(self) -> str:
        return f"{self.booking.reference} {self.direction}: {self.get_cause_display()}"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OFFERED


class Compensation(models.Model):
    """What a leg's travellers are owed for arriving late (bookings.compensations): proposed to staff, approved and
    paid as a refund, or rejected with the reason (weather, extraordinary circumstances)."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed, awaiting staff")
        APPROVED = "approved", _("Approved, being paid")
        PAID = "paid", _("Paid")
        REJECTED = "rejected", _("Rejected")

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="compensations")
    direction = models.CharField(max_length=10, choices=BookingLeg.Direction.choices)
    sailing = models.ForeignKey(Sailing, on_delete=models.PROTECT, related_name="compensations")
    late_minutes = models.PositiveIntegerField(help_text=_("How late it arrives against the timetable."))
    percent = models.PositiveSmallIntegerField(help_text=_("Of the leg's price: 25 or 50."))
    amount_minor = models.PositiveIntegerField()
    currency = models.CharField(max_length=3, validators=[CURRENCY_VALIDATOR])
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PROPOSED, db_index=True)
    paid_minor = models.PositiveIntegerField(default=0, help_text=_("What the refunds for it gave back."))
    note = models.CharField(max_length=255, blank=True, help_text=_("Why it was rejected."))
    decided_by = models.CharField(max_length=64, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["booking", "direction", "sailing"], name="compensation_once_per_leg"),
            models.CheckConstraint(condition=Q(percent__in=[25, 50]), name="compensation_percent_by_regulation"),
        ]

    def __str__(self) -> str:
        return f"{self.booking.reference} {self.direction}: {self.percent} %"


PROMO_CODE_PATTERN = r"^[A-Z0-9][A-Z0-9-]{2,31}$"


class PromoCode(models.Model):
    """A code a traveller types to lower the price: a percentage or an amount off the legs it applies to, within its
    limits (bookings.promotions applies it)."""

    class Kind(models.TextChoices):
        PERCENT = "percent", _("Percentage off")
        AMOUNT = "amount", _("Fixed amount off")

    code = models.CharField(
        max_length=32, unique=True,
        validators=[RegexValidator(PROMO_CODE_PATTERN, _("3 to 32 capital letters, digits and hyphens."))],
        help_text=_("What travellers type, in capitals: 3 to 32 letters, digits and hyphens."),
    )  # fmt: skip
    description = models.CharField(max_length=200, blank=True, help_text=_("For staff: what the code is for."))
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.PERCENT)
    percent = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text=_("Percentage off each leg it applies to (cancellation protection aside)."),
    )  # fmt: skip
    amount_minor = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)],
        help_text=_("Amount off the booking, in minor units (cents), shared between the legs it applies to."),
    )  # fmt: skip
    currency = models.CharField(max_length=3, default="EUR", validators=[CURRENCY_VALIDATOR])
    routes = models.ManyToManyField(
        Route, blank=True, related_name="promo_codes", help_text=_("Only legs on these routes; none: every route.")
    )
    travel_from = models.DateField(null=True, blank=True, help_text=_("Only legs departing on or after this day."))
    travel_to = models.DateField(null=True, blank=True, help_text=_("Only legs departing on or before this day."))
    min_total_minor = models.PositiveIntegerField(
        default=0, help_text=_("The booking's price before the code must reach this, in minor units.")
    )
    first_booking_only = models.BooleanField(
        default=False, help_text=_("Only for an e-mail address that has never booked with us before.")
    )
    max_uses = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)], help_text=_("Bookings in all; empty: no limit.")
    )
    max_uses_per_email = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)],
        help_text=_("Bookings per contact e-mail; empty: no limit."),
    )  # fmt: skip
    starts_at = models.DateTimeField(null=True, blank=True, help_text=_("Usable from then; empty: at once."))
    ends_at = models.DateTimeField(null=True, blank=True, help_text=_("Usable until then; empty: no end."))
    active = models.BooleanField(default=True, help_text=_("Untick to stop the code at once."))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                # isnull=False too: a comparison with NULL is unknown, which a check lets through.
                condition=(Q(kind="percent", percent__isnull=False, percent__gte=1, percent__lte=100,
                             amount_minor__isnull=True)
                           | Q(kind="amount", amount_minor__isnull=False, amount_minor__gte=1, percent__isnull=True)),
                name="promo_code_one_discount",
            ),
            models.CheckConstraint(
                condition=Q(travel_from__isnull=True) | Q(travel_to__isnull=True) | Q(travel_to__gte=F("travel_from")),
                name="promo_code_travel_dates_in_order",
            ),
            models.CheckConstraint(
                condition=Q(starts_at__isnull=True) | Q(ends_at__isnull=True) | Q(ends_at__gt=F("starts_at")),
                name="promo_code_validity_in_order",
            ),
        ]  # fmt: skip

    def __str__(self) -> str:
        return self.code

    def clean(self) -> None:
        """The discount its kind needs, and no other; dates in order (the constraints say the same to the database)."""
        self.code = (self.code or "").strip().upper()
        errors = {}
        if self.kind == self.Kind.PERCENT:
            if self.percent is None:
                errors["percent"] = _("A percentage code needs its percentage.")
            self.amount_minor = None
        elif self.kind == self.Kind.AMOUNT:
            if self.amount_minor is None:
                errors["amount_minor"] = _("A fixed-amount code needs its amount.")
            self.percent = None
        if self.travel_from and self.travel_to and self.travel_to < self.travel_from:
            errors["travel_to"] = _("The last day of travel is before the first.")
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            errors["ends_at"] = _("The end is not after the start.")
        if errors:
            raise ValidationError(errors)


class PromoCodeUse(models.Model):
    """A booking made with a promo code. It counts against the code's limits until the booking ends without being
    paid for (expired, cancelled unpaid, refused by the operator): then it is released."""

    promo_code = models.ForeignKey(PromoCode, on_delete=models.PROTECT, related_name="uses")
    booking = models.OneToOneField(Booking, on_delete=models.CASCADE, related_name="promo_use")
    email = models.EmailField(
        help_text=_("The booking's contact e-mail, in lower case, as the per-e-mail limit counts.")
    )
    discount_minor = models.PositiveIntegerField()
    currency = models.CharField(max_length=3, validators=[CURRENCY_VALIDATOR])
    released_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When the booking ended unpaid: the use no longer counts.")
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "pk"]
        indexes = [models.Index(fields=["promo_code", "email"], name="promo_use_code_email")]

    def __str__(self) -> str:
        return f"{self.promo_code.code}: {self.booking.reference}"
