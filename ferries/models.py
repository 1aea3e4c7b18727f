"""The ferry network: operators, ports, vessels, routes, sailings with their inventory, and fares.

Money is an integer amount in minor units (cents) with an ISO currency; times are UTC in the
database and shown in the port's own time zone.
"""

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from functools import cached_property

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField

from ferries.choices import CABIN_BERTHS, Accommodation, Amenity, PassengerType, PetType, Resource, VehicleCategory

CURRENCY_VALIDATOR = RegexValidator(r"^[A-Z]{3}$", _("An ISO 4217 code such as EUR."))
# Check-in closes at most a day before departure: a longer figure is a typo (hours for minutes), not a rule.
CHECK_IN_VALIDATORS = [MaxValueValidator(24 * 60, _("Check-in closes at most 1440 minutes (a day) before departure."))]


def check_in_override(help_text: str) -> models.PositiveIntegerField:
    """A closing time of check-in that overrides a more general one, or is empty."""
    return models.PositiveIntegerField(
        _("check-in closes (minutes before departure)"), null=True, blank=True, validators=CHECK_IN_VALIDATORS,
        help_text=help_text,
    )  # fmt: skip


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(value)s is not an IANA time zone (e.g. Europe/Paris)."), params={"value": value})


def validate_imo(value: str) -> None:
    """IMO numbers carry a check digit: the first six digits weighted 7..2, summed, last digit of the sum."""
    if len(value) != 7 or not value.isdigit():
        raise ValidationError(_("An IMO number has 7 digits."))
    if sum(int(digit) * weight for digit, weight in zip(value[:6], range(7, 1, -1), strict=True)) % 10 != int(value[6]):
        raise ValidationError(_("%(value)s fails the IMO check digit."), params={"value": value})


class Operator(models.Model):
    class Integration(models.TextChoices):
        LOCAL = "local", _("Local inventory (our database)")
        HTTP = "http", _("Operator API over HTTP")

    code = models.CharField(
        max_length=8, unique=True, validators=[RegexValidator(r"^[A-Z0-9]{2,8}$", _("2–8 capital letters or digits."))]
    )
    name = models.CharField(max_length=100)
    integration = models.CharField(max_length=10, choices=Integration.choices, default=Integration.LOCAL)
    api_url = models.URLField(blank=True, help_text=_("Base URL of the operator's API (HTTP integration only)."))
    active = models.BooleanField(default=True)
    check_in_closes_minutes = models.PositiveIntegerField(
        _("check-in closes (minutes before departure)"),
        default=60,
        validators=CHECK_IN_VALIDATORS,
        help_text=_("Printed on e-tickets; a port may set its own for departures from it."),
    )
    # The logo shown beside the operator's sailings: a small image kept here, so every web process can serve it
    # without shared file storage (ferries.logos). Its version names it in URLs, so browsers keep it for good.
    logo = models.BinaryField(blank=True, default=b"", editable=False)
    logo_type = models.CharField(max_length=20, blank=True, editable=False)
    logo_version = models.CharField(max_length=16, blank=True, editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(integration="local") | ~Q(api_url=""),
                name="operator_http_needs_api_url",
                violation_error_message=_("An operator reached over HTTP needs its API URL."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def logo_url(self) -> str | None:
        """Where its logo is served, under its version (ferries.logos); None without one."""
        if not self.logo_version:
            return None
        return reverse("operator_logo", kwargs={"code": self.code, "version": self.logo_version})


class Port(models.Model):
    code = models.CharField(
        max_length=5,
        unique=True,
        validators=[RegexValidator(r"^[A-Z]{2}[A-Z2-9]{3}$", _("A UN/LOCODE such as FRMRS."))],
        help_text=_("UN/LOCODE"),
    )
    name = models.CharField(max_length=100)
    country = CountryField()
    time_zone = models.CharField(max_length=64, validators=[validate_time_zone])
    terminal = models.CharField(
        _("passenger terminal"), max_length=100, blank=True, help_text=_("Where travellers check in for departures.")
    )
    terminal_address = models.CharField(max_length=200, blank=True)
    check_in_closes_minutes = check_in_override(
        _("Overrides the operator's for departures from this port (e.g. longer border controls).")
    )
    vehicle_lane_rules = models.TextField(
        blank=True, help_text=_("What drivers do on arrival at the port: which lanes, from when, which controls.")
    )

    class Meta:
        ordering = ["country", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class OperatorTerminal(models.Model):
    """Where one operator's travellers check in at a port, when it is not the port's passenger terminal, and the
    operator's own closing time and lane rules there."""

    port = models.ForeignKey(Port, on_delete=models.CASCADE, related_name="operator_terminals")
    operator = models.ForeignKey(Operator, on_delete=models.CASCADE, related_name="terminals")
    terminal = models.CharField(_("passenger terminal"), max_length=100)
    terminal_address = models.CharField(max_length=200, blank=True)
    check_in_closes_minutes = check_in_override(_("Empty: the port's time, else the operator's."))
    vehicle_lane_rules = models.TextField(blank=True, help_text=_("Empty: the port's."))

    class Meta:
        ordering = ["port", "operator"]
        constraints = [models.UniqueConstraint(fields=["port", "operator"], name="operator_terminal_once")]

    def __str__(self) -> str:
        return f"{self.terminal} ({self.operator.code})"


@dataclass(frozen=True)
class DepartureTerminal:
    """Where and until when travellers check in for a route's departures, and what drivers do there."""

    name: str
    address: str
    check_in_closes_minutes: int
    vehicle_lane_rules: str


def validate_amenities(value) -> None:
    """A list of Amenity values, each once."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationError(_("A list of amenities."))
    unknown = sorted(set(value) - set(Amenity.values))
    if unknown:
        raise ValidationError(_("Unknown amenities: %(names)s.") % {"names": ", ".join(unknown)})
    if len(set(value)) != len(value):
        raise ValidationError(_("Each amenity once."))


class Vessel(models.Model):
    operator = models.ForeignKey(Operator, on_delete=models.PROTECT, related_name="vessels")
    name = models.CharField(max_length=100)
    imo = models.CharField(_("IMO number"), max_length=7, unique=True, validators=[validate_imo])
    passenger_capacity = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    lane_metres = models.PositiveIntegerField(help_text=_("Vehicle deck length in lane metres; 0 for no vehicles."))
    max_vehicle_height_cm = models.PositiveIntegerField(default=0)
    priority_boarding_places = models.PositiveIntegerField(
        default=0, help_text=_("Parties that may board first on each sailing; 0 for no priority boarding.")
    )
    kennels = models.PositiveIntegerField(
        default=0,
        help_text=_("Kennels on deck, one pet each, on each sailing; 0: pets travel only in pet-friendly cabins."),
    )
    amenities = models.JSONField(
        default=list, blank=True, validators=[validate_amenities], help_text=_("What travellers find on board.")
    )

    class Meta:
        ordering = ["operator__name", "name"]

    def __str__(self) -> str:
        return self.name


class VesselAccommodation(models.Model):
    """How many reserved seats or cabins of one kind a vessel has. Deck passage needs no row."""

    vessel = models.ForeignKey(Vessel, on_delete=models.CASCADE, related_name="accommodations")
    kind = models.CharField(max_length=20, choices=[c for c in Accommodation.choices if c[0] != Accommodation.DECK])
    units = models.PositiveIntegerField()

    class Meta:
        ordering = ["vessel", "kind"]
        constraints = [models.UniqueConstraint(fields=["vessel", "kind"], name="vessel_accommodation_once")]

    def __str__(self) -> str:
        return f"{self.units} × {self.get_kind_display()}"


class Route(models.Model):
    operator = models.ForeignKey(Operator, on_delete=models.PROTECT, related_name="routes")
    origin = models.ForeignKey(Port, on_delete=models.PROTECT, related_name="departures")
    destination = models.ForeignKey(Port, on_delete=models.PROTECT, related_name="arrivals")
    active = models.BooleanField(default=True)
    vat_percent = models.DecimalField(
        max_digits=4, decimal_places=2, default=0, validators=[MinValueValidator(0), MaxValueValidator(50)],
        help_text=_("VAT included in the route's prices, in percent, as invoices show it (0 for an exempt "
                    "international crossing)."),
    )  # fmt: skip
    travel_documents = models.TextField(
        blank=True,
        help_text=_("What travellers carry on this crossing (identity documents, visas, vehicle papers); reminders "
                    "and e-tickets print it. Empty: identity documents for everyone."),
    )  # fmt: skip

    class Meta:
        ordering = ["origin__name", "destination__name", "operator__name"]
        constraints = [
            models.UniqueConstraint(fields=["operator", "origin", "destination"], name="route_once_per_operator"),
            models.CheckConstraint(
                condition=~Q(origin=F("destination")),
                name="route_ports_differ",
                violation_error_message=_("A route goes from one port to another."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.origin.name} → {self.destination.name} ({self.operator.code})"

    @cached_property
    def departure_terminal(self) -> DepartureTerminal:
        """The operator's own terminal at the port of departure where it has one, else the port's; each closing
        time and lane rule falls back the same way (operator's terminal, port, operator)."""
        port = self.origin
        own = OperatorTerminal.objects.filter(port=port.pk, operator=self.operator_id).first()
        closes = [own.check_in_closes_minutes if own else None, port.check_in_closes_minutes]
        return DepartureTerminal(
            name=own.terminal if own else port.terminal,
            address=own.terminal_address if own else port.terminal_address,
            check_in_closes_minutes=next((m for m in closes if m is not None), self.operator.check_in_closes_minutes),
            vehicle_lane_rules=(own.vehicle_lane_rules if own else "") or port.vehicle_lane_rules,
        )

    @property
    def check_in_closes_minutes(self) -> int:
        return self.departure_terminal.check_in_closes_minutes


class Sailing(models.Model):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        CANCELLED = "cancelled", _("Cancelled")
        DEPARTED = "departed", _("Departed")

    route = models.ForeignKey(Route, on_delete=models.PROTECT, related_name="sailings")
    vessel = models.ForeignKey(Vessel, on_delete=models.PROTECT, related_name="sailings")
    ref = models.CharField(max_length=40, unique=True, help_text=_("The operator's reference for this sailing."))
    departs_at = models.DateTimeField(
        db_index=True, help_text=_("When it leaves: the timetable's time, or the new one.")
    )
    arrives_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    # The timetable's times, kept when a sailing is retimed (a delay): what passengers' rights are measured against.
    scheduled_departs_at = models.DateTimeField(null=True, blank=True, help_text=_("Empty: on time."))
    scheduled_arrives_at = models.DateTimeField(null=True, blank=True, help_text=_("Empty: on time."))

    class Meta:
        ordering = ["departs_at"]
        indexes = [models.Index(fields=["route", "departs_at"], name="sailing_route_departure")]
        constraints = [
            models.CheckConstraint(
                condition=Q(arrives_at__gt=F("departs_at")),
                name="sailing_arrives_after",
                violation_error_message=_("A sailing arrives after it departs."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.ref} {self.route}"

    @property
    def duration_minutes(self) -> int:
        return int((self.arrives_at - self.departs_at).total_seconds() // 60)

    @property
    def timetabled_departs_at(self) -> dt.datetime:
        return self.scheduled_departs_at or self.departs_at

    @property
    def timetabled_arrives_at(self) -> dt.datetime:
        return self.scheduled_arrives_at or self.arrives_at

    @property
    def departure_delay_minutes(self) -> int:
        """How much later than the timetable it leaves (negative: earlier)."""
        return int((self.departs_at - self.timetabled_departs_at).total_seconds() // 60)

    @property
    def arrival_delay_minutes(self) -> int:
        return int((self.arrives_at - self.timetabled_arrives_at).total_seconds() // 60)

    @property
    def local_day(self) -> dt.date:
        """The day it leaves on, in its port of departure's time."""
        return self.departs_at.astimezone(self.route.origin.tz).date()

    @property
    def check_in_closes_at(self) -> dt.datetime:
        return self.departs_at - dt.timedelta(minutes=self.route.check_in_closes_minutes)


class SailingRetiming(models.Model):
    """A sailing given new times (a delay, or a time moved): its history, and what travellers were told."""

    sailing = models.ForeignKey(Sailing, on_delete=models.CASCADE, related_name="retimings")
    departs_at = models.DateTimeField()
    arrives_at = models.DateTimeField()
    previous_departs_at = models.DateTimeField()
    previous_arrives_at = models.DateTimeField()
    reason = models.CharField(max_length=255)
    actor = models.CharField(max_length=64, help_text=_("staff:<id>, operator"))
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["sailing", "at", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(arrives_at__gt=F("departs_at")), name="retiming_arrives_after")
        ]

    def __str__(self) -> str:
        return f"{self.sailing.ref} retimed {self.at:%Y-%m-%d %H:%M}"


class SailingInventory(models.Model):
    """One resource of one sailing: its capacity and how much of it is held or sold.

    Holds and sales change `taken` with a conditional UPDATE; the constraints are the backstop that
    makes overselling impossible even if a code path forgot the condition.
    """

    sailing = models.ForeignKey(Sailing, on_delete=models.CASCADE, related_name="inventory")
    resource = models.CharField(max_length=20, choices=Resource.choices)
    capacity = models.PositiveIntegerField()
    taken = models.PositiveIntegerField(default=0)

    class Meta:
        # By the sailing's id, not by the sailing (its own order, departure, would join every sailing to sort).
        ordering = ["sailing_id", "resource"]
        verbose_name_plural = "sailing inventory"
        constraints = [
            models.UniqueConstraint(fields=["sailing", "resource"], name="inventory_once_per_resource"),
            models.CheckConstraint(condition=Q(taken__lte=F("capacity")), name="inventory_never_oversold"),
        ]

    def __str__(self) -> str:
        return f"{self.get_resource_display()}: {self.taken}/{self.capacity}"

    @property
    def remaining(self) -> int:
        return self.capacity - self.taken


class CapacityHold(models.Model):
    """Capacity taken from a local-inventory sailing: held until confirmed, released or expired."""

    class Status(models.TextChoices):
        HELD = "held", _("Held")
        CONFIRMED = "confirmed", _("Confirmed")
        RELEASED = "released", _("Released")

    ref = models.CharField(max_length=32, unique=True)
    sailing = models.ForeignKey(Sailing, on_delete=models.PROTECT, related_name="holds")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.HELD)
    quantities = models.JSONField(help_text=_("Resource → amount taken from the sailing's inventory."))
    expires_at = models.DateTimeField()
    confirmation_ref = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "expires_at"], name="hold_status_expiry")]

    def __str__(self) -> str:
        return f"{self.ref} ({self.get_status_display()})"


class Fare(models.Model):
    """A route's prices for one season, sold in the fare families of the season (`families`)."""

    route = models.ForeignKey(Route, on_delete=models.CASCADE, related_name="fares")
    name = models.CharField(max_length=60, help_text=_("e.g. Summer 2027"))
    valid_from = models.DateField(help_text=_("First departure date (port time) the fare applies to."))
    valid_to = models.DateField(help_text=_("Last departure date (port time) the fare applies to."))
    currency = models.CharField(max_length=3, default="EUR", validators=[CURRENCY_VALIDATOR])
    pet_amount_minor = models.PositiveIntegerField(
        _("price per pet (minor units)"), default=0,
        help_text=_("For a pet of another kind, and a dog or a cat when theirs is left empty."),
    )  # fmt: skip
    dog_amount_minor = models.PositiveIntegerField(_("price per dog (minor units)"), null=True, blank=True)
    cat_amount_minor = models.PositiveIntegerField(_("price per cat (minor units)"), null=True, blank=True)
    # Extras, each left empty where it is not sold (a crossing without a restaurant has no meals).
    dinner_amount_minor = models.PositiveIntegerField(_("dinner, per person (minor units)"), null=True, blank=True)
    breakfast_amount_minor = models.PositiveIntegerField(
        _("breakfast, per person (minor units)"), null=True, blank=True
    )
    priority_amount_minor = models.PositiveIntegerField(_("priority boarding (minor units)"), null=True, blank=True)
    protection_amount_minor = models.PositiveIntegerField(
        _("cancellation protection, per passenger (minor units)"), null=True, blank=True
    )

    class Meta:
        ordering = ["route", "valid_from"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__gte=F("valid_from")),
                name="fare_period_ordered",
                violation_error_message=_("A fare's last day comes on or after its first."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.route} — {self.name}"

    def pet_price(self, kind: str) -> int:
        """The price of one pet of this kind (a PetType) per crossing, in minor units."""
        own = {PetType.DOG: self.dog_amount_minor, PetType.CAT: self.cat_amount_minor}.get(kind)
        return self.pet_amount_minor if own is None else own

    def clean(self) -> None:
        if self.valid_from and self.valid_to and self.route_id:
            overlapping = Fare.objects.filter(
                route=self.route_id, valid_from__lte=self.valid_to, valid_to__gte=self.valid_from
            ).exclude(pk=self.pk)
            if overlapping.exists():
                raise ValidationError({"valid_from": _("This period overlaps another fare of the same route.")})


class FareFamily(models.Model):
    """One way a season's fare is sold (e.g. Basic, Standard, Flex): its price, a percentage of the fare's prices,
    and its rules for cancelling and changing, which each booking leg keeps as sold."""

    fare = models.ForeignKey(Fare, on_delete=models.CASCADE, related_name="families")
    code = models.CharField(
        max_length=20,
        validators=[RegexValidator(r"^[a-z][a-z0-9-]{1,19}$", _("2–20 small letters, digits or hyphens."))],
        help_text=_("How links and the API name it, e.g. flex."),
    )
    name = models.CharField(max_length=40, help_text=_("What travellers read, e.g. Flex."))
    position = models.PositiveSmallIntegerField(default=0, help_text=_("Families are shown in this order."))
    price_percent = models.PositiveIntegerField(
        # xgettext:no-python-format
        _("price (% of the fare)"),
        default=100,
        validators=[MinValueValidator(1), MaxValueValidator(1000)],
    )
    refund_full_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text=_("Full refund when cancelled at least this many days before departure; empty for none."),
    )
    refund_partial_hours = models.PositiveIntegerField(
        default=24, help_text=_("Partial refund when cancelled at least this many hours before departure.")
    )
    refund_partial_percent = models.PositiveIntegerField(default=0, validators=[MaxValueValidator(100)])
    changes_allowed = models.BooleanField(default=True)
    change_until_hours = models.PositiveIntegerField(
        default=24, help_text=_("Changes are possible until this many hours before departure.")
    )
    change_fee_minor = models.PositiveIntegerField(_("change fee (minor units)"), default=0)
    change_fee_percent = models.PositiveIntegerField(
        # xgettext:no-python-format
        _("change fee (% of the leg's price)"), default=0, validators=[MaxValueValidator(100)],
        help_text=_("Added to the fixed fee."),
    )  # fmt: skip
    change_fee_min_minor = models.PositiveIntegerField(_("change fee at least (minor units)"), default=0)
    max_changes = models.PositiveIntegerField(_("changes at most"), default=1)

    class Meta:
        # By the fare's id, not by the fare (whose own order would join its route, ports and operator to sort).
        ordering = ["fare_id", "position", "price_percent"]
        verbose_name_plural = _("fare families")
        constraints = [
            models.UniqueConstraint(fields=["fare", "code"], name="fare_family_once"),
            models.CheckConstraint(
                condition=Q(refund_partial_percent__lte=100) & Q(change_fee_percent__lte=100),
                name="fare_family_percent_max",
                violation_error_message=_("A refund or a fee is at most 100 %."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.price_percent} %)"


class PassengerFare(models.Model):
    fare = models.ForeignKey(Fare, on_delete=models.CASCADE, related_name="passenger_fares")
    passenger_type = models.CharField(max_length=10, choices=PassengerType.choices)
    amount_minor = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["fare", "passenger_type"], name="passenger_fare_once")]

    def __str__(self) -> str:
        return f"{self.get_passenger_type_display()}: {self.amount_minor}"


class VehicleFare(models.Model):
    """The price of a vehicle of one category up to a length; the shortest band that fits applies."""

    fare = models.ForeignKey(Fare, on_delete=models.CASCADE, related_name="vehicle_fares")
    category = models.CharField(max_length=20, choices=VehicleCategory.choices)
    max_length_cm = models.PositiveIntegerField()
    amount_minor = models.PositiveIntegerField()

    class Meta:
        ordering = ["category", "max_length_cm"]
        constraints = [
            models.UniqueConstraint(fields=["fare", "category", "max_length_cm"], name="vehicle_fare_band_once")
        ]

    def __str__(self) -> str:
        return f"{self.get_category_display()} ≤ {self.max_length_cm} cm: {self.amount_minor}"


class AccommodationFare(models.Model):
    """Deck and seats are priced per passenger (infants free); cabins per cabin."""

    fare = models.ForeignKey(Fare, on_delete=models.CASCADE, related_name="accommodation_fares")
    accommodation = models.CharField(max_length=20, choices=Accommodation.choices)
    amount_minor = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["fare", "accommodation"], name="accommodation_fare_once")]

    def __str__(self) -> str:
        unit = _("per cabin") if self.accommodation in CABIN_BERTHS else _("per passenger")
        return f"{self.get_accommodation_display()}: {self.amount_minor} {unit}"
