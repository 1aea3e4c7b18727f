"""The vocabulary of the ferry business: passenger types, vehicles, accommodation.

Countries are ISO 3166-1's, from django-countries (`Port.country`, a passenger's nationality)."""

from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _
from django_countries import countries

MAX_PASSENGERS = 9
# ISO 3166-1 alpha-2, in code order: what a port's country or a passenger's nationality may be. Their names, in the
# page's language, come from django-countries' `countries`.
COUNTRY_CODES = tuple(sorted(countries.countries))
# Space left between vehicles on the deck, added to a vehicle's length when lane metres are taken.
LANE_GAP_CM = 50


class PassengerType(models.TextChoices):
    ADULT = "adult", _("Adult (12–64)")
    CHILD = "child", _("Child (4–11)")
    INFANT = "infant", _("Infant (0–3)")
    SENIOR = "senior", _("Senior (65+)")


# Who may travel on their own and take responsibility for children and infants.
GROWN_UPS = (PassengerType.ADULT, PassengerType.SENIOR)


class VehicleCategory(models.TextChoices):
    CAR = "car", _("Car")
    CAR_TRAILER = "car_trailer", _("Car with trailer")
    VAN = "van", _("Van")
    CAMPER = "camper", _("Camper")
    MOTORCYCLE = "motorcycle", _("Motorcycle")
    BICYCLE = "bicycle", _("Bicycle")
    TRAILER = "trailer", _("Trailer or caravan (booked with the car towing it)")


@dataclass(frozen=True)
class VehicleLimits:
    default_length_cm: int
    default_height_cm: int
    min_length_cm: int
    max_length_cm: int
    max_height_cm: int

    def sizes(self) -> dict[str, tuple[int, int, int]]:
        """The typical size, and the least and the most taken, of a vehicle's length and height (in cm)."""
        return {
            "length_cm": (self.default_length_cm, self.min_length_cm, self.max_length_cm),
            "height_cm": (self.default_height_cm, MIN_HEIGHT_CM, self.max_height_cm),
        }


# Vehicles a party may take along (a car and its trailer, motorbikes, bicycles): each takes its own lane space.
MAX_VEHICLES = 4


class VehicleLoad(models.TextChoices):
    """What a vehicle carries outside its body, making it taller (on the roof) or longer (at the back)."""

    NONE = "", _("Nothing on the roof or at the back")
    ROOF_BOX = "roof_box", _("Roof box")
    ROOF_BIKES = "roof_bikes", _("Bicycles on a roof rack")
    REAR_RACK = "rear_rack", _("Bike rack at the back")


# What a load adds to a vehicle's size, in cm: (height, length). The vehicle's own size is asked without it.
LOAD_SIZES = {
    VehicleLoad.NONE: (0, 0),
    VehicleLoad.ROOF_BOX: (50, 0),
    VehicleLoad.ROOF_BIKES: (100, 0),
    VehicleLoad.REAR_RACK: (0, 80),
}

# No vehicle lower than this (a bicycle's handlebars) is taken on board as one.
MIN_HEIGHT_CM = 50

VEHICLE_LIMITS = {
    VehicleCategory.CAR: VehicleLimits(450, 160, 250, 600, 250),
    VehicleCategory.CAR_TRAILER: VehicleLimits(900, 200, 500, 1800, 400),
    VehicleCategory.VAN: VehicleLimits(550, 250, 400, 800, 350),
    VehicleCategory.CAMPER: VehicleLimits(700, 300, 500, 1200, 400),
    VehicleCategory.MOTORCYCLE: VehicleLimits(220, 140, 150, 350, 200),
    VehicleCategory.BICYCLE: VehicleLimits(180, 110, 100, 300, 200),
    VehicleCategory.TRAILER: VehicleLimits(400, 200, 150, 900, 350),
}


class Accommodation(models.TextChoices):
    DECK = "deck", _("Deck passage")
    SEAT = "seat", _("Reserved seat")
    INSIDE_2 = "inside_2", _("Inside cabin, 2 berths")
    INSIDE_4 = "inside_4", _("Inside cabin, 4 berths")
    OUTSIDE_2 = "outside_2", _("Outside cabin, 2 berths")
    OUTSIDE_4 = "outside_4", _("Outside cabin, 4 berths")
    ACCESSIBLE_2 = "accessible_2", _("Accessible cabin, 2 berths")
    PET_4 = "pet_4", _("Pet-friendly cabin, 4 berths")


CABIN_BERTHS = {
    Accommodation.INSIDE_2: 2,
    Accommodation.INSIDE_4: 4,
    Accommodation.OUTSIDE_2: 2,
    Accommodation.OUTSIDE_4: 4,
    Accommodation.ACCESSIBLE_2: 2,
    Accommodation.PET_4: 4,
}
# Pets a party may take along; where they travel: with them in a pet-friendly cabin, else each in a kennel on deck.
MAX_PETS = 4


class PetType(models.TextChoices):
    """What kind of pet, each priced per crossing at its fare's price for the kind. A party's pets are counted in
    all, with how many of them are dogs and cats; the others are of another kind (so are pets booked before kinds)."""

    DOG = "dog", _("Dog")
    CAT = "cat", _("Cat")
    OTHER = "other", _("Other pet (rabbit, bird, ferret…)")


PETS_IN_CABIN = frozenset({Accommodation.PET_4})


class Assistance(models.TextChoices):
    """Help a passenger asks for on board and at the quay, passed to the operator with the passenger list."""

    NONE = "", _("None")
    WHEELCHAIR = "wheelchair", _("Wheelchair user")
    REDUCED_MOBILITY = "reduced_mobility", _("Reduced mobility (walks with difficulty)")
    VISUAL = "visual", _("Blind or partially sighted")
    HEARING = "hearing", _("Deaf or hard of hearing")


class Resource(models.TextChoices):
    """What a sailing can sell out of. Deck passage needs only passenger places."""

    PASSENGERS = "passengers", _("Passenger places")
    LANE_CM = "lane_cm", _("Vehicle deck (cm)")
    SEAT = "seat", _("Reserved seats")
    INSIDE_2 = "inside_2", _("Inside cabins, 2 berths")
    INSIDE_4 = "inside_4", _("Inside cabins, 4 berths")
    OUTSIDE_2 = "outside_2", _("Outside cabins, 2 berths")
    OUTSIDE_4 = "outside_4", _("Outside cabins, 4 berths")
    ACCESSIBLE_2 = "accessible_2", _("Accessible cabins, 2 berths")
    PET_4 = "pet_4", _("Pet-friendly cabins, 4 berths")
    PRIORITY_BOARDING = "priority_boarding", _("Priority boarding")
    KENNELS = "kennels", _("Kennels")


class Extra(models.TextChoices):
    """What a traveller may add to a leg, each a price line of its own (its code): meals per person, priority
    boarding for the party (limited per sailing), cancellation protection per passenger (chosen for the booking)."""

    DINNER = "meal:dinner", _("Dinner")
    BREAKFAST = "meal:breakfast", _("Breakfast")
    PRIORITY_BOARDING = "priority_boarding", _("Priority boarding")
    PROTECTION = "protection", _("Cancellation protection")


class Amenity(models.TextChoices):
    """What a vessel offers on board, as staff record it in the admin and travellers see it with each sailing."""

    RESTAURANT = "restaurant", _("Restaurant")
    CAFE = "cafe", _("Café and bar")
    SHOP = "shop", _("Shop")
    WIFI = "wifi", _("Wi-Fi")
    LOUNGE = "lounge", _("Lounge with reserved seats")
    POOL = "pool", _("Swimming pool")
    CINEMA = "cinema", _("Cinema")
    PLAY_AREA = "play_area", _("Children's play area")
    PET_KENNELS = "pet_kennels", _("Kennels")
    PET_CABINS = "pet_cabins", _("Pet-friendly cabins")
    ACCESSIBLE_CABINS = "accessible_cabins", _("Accessible cabins")
    LIFTS = "lifts", _("Lifts to every deck")


# Cancellation protection refunds everything but itself until this long before each leg's departure.
PROTECTION_HOURS = 24


# The fare families a new season's fare is usually sold in (the demo network's and the tests' fares; staff edit
# each fare's own in the admin). Standard is the policy fares had before families: full refund until 7 days before,
# half until 24 hours before.
USUAL_FARE_FAMILIES = (
    {
        "code": "basic", "name": "Basic", "position": 0, "price_percent": 85,
        "refund_full_days": None, "refund_partial_hours": 0, "refund_partial_percent": 0,
        "changes_allowed": False, "change_until_hours": 0, "max_changes": 0,
    },
    {
        "code": "standard", "name": "Standard", "position": 1, "price_percent": 100,
        "refund_full_days": 7, "refund_partial_hours": 24, "refund_partial_percent": 50,
        "changes_allowed": True, "change_until_hours": 24, "change_fee_percent": 10, "change_fee_min_minor": 1500,
        "max_changes": 2,
    },
    {
        "code": "flex", "name": "Flex", "position": 2, "price_percent": 125,
        "refund_full_days": 1, "refund_partial_hours": 2, "refund_partial_percent": 50,
        "changes_allowed": True, "change_until_hours": 2, "max_changes": 5,
    },
)  # fmt: skip
