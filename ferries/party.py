"""Who travels and with what: the party a search prices and a hold takes capacity for."""

import math
from dataclasses import asdict, dataclass, fields

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ferries.choices import (
    CABIN_BERTHS,
    LANE_GAP_CM,
    LOAD_SIZES,
    MAX_PETS,
    PETS_IN_CABIN,
    Accommodation,
    PassengerType,
    PetType,
    Resource,
)


def party_problem(*, grown_ups: int, infants: int) -> str:
    """What keeps a party from travelling, in words, or "": an adult or a senior travels, and each infant on the lap
    of one. A search and a booking both ask."""
    if not grown_ups:
        return _("At least one adult or senior must travel.")
    if infants > grown_ups:
        return _("Each infant travels on the lap of an adult or a senior.")
    return ""


def pet_problem(*, pets: int | None, dogs: int, cats: int) -> str:
    """What is wrong with a party's pets, in words, or "": the dogs and cats are among the pets, MAX_PETS in all.
    `pets` None: as many as the dogs and cats."""
    if pets is not None and dogs + cats > pets:
        return _("Count the dogs and cats among the pets (%(n)d in all).") % {"n": dogs + cats}
    if (dogs + cats if pets is None else pets) > MAX_PETS:
        return _("At most %(max)d pets.") % {"max": MAX_PETS}
    return ""


def pets_in_words(counts: dict[str, int]) -> str:
    """Pets by kind (PetType: count) in words: "1 dog, 2 cats"; "" for none."""
    words = {
        PetType.DOG: lambda n: ngettext("%(n)d dog", "%(n)d dogs", n),
        PetType.CAT: lambda n: ngettext("%(n)d cat", "%(n)d cats", n),
        PetType.OTHER: lambda n: ngettext("%(n)d other pet", "%(n)d other pets", n),
    }
    return ", ".join(words[kind](n) % {"n": n} for kind, n in counts.items() if n)


@dataclass(frozen=True)
class Vehicle:
    """A vehicle's own size, and what it carries on the roof or at the back (a `VehicleLoad`), which adds to it."""

    category: str
    length_cm: int
    height_cm: int
    load: str = ""

    @property
    def overall_length_cm(self) -> int:
        """The length it takes on the deck, a rear rack included: what lane metres and its price band count."""
        return self.length_cm + LOAD_SIZES.get(self.load, (0, 0))[1]

    @property
    def overall_height_cm(self) -> int:
        """Its height with what is on its roof: what the vessel's height limit is checked against."""
        return self.height_cm + LOAD_SIZES.get(self.load, (0, 0))[0]


@dataclass(frozen=True)
class Party:
    adults: int = 1
    children: int = 0
    infants: int = 0
    seniors: int = 0
    vehicles: tuple[Vehicle, ...] = ()
    accommodation: str = Accommodation.DECK
    pets: int = 0  # in all, of which `dogs` and `cats`; the others of another kind
    dogs: int = 0
    cats: int = 0

    @property
    def counts(self) -> dict[str, int]:
        """Passengers by type, types with nobody left out."""
        counts = {
            PassengerType.ADULT: self.adults,
            PassengerType.CHILD: self.children,
            PassengerType.INFANT: self.infants,
            PassengerType.SENIOR: self.seniors,
        }
        return {str(kind): n for kind, n in counts.items() if n}

    @property
    def persons(self) -> int:
        return self.adults + self.children + self.infants + self.seniors

    @property
    def occupants(self) -> int:
        """Passengers who need a seat or a berth: infants travel on a lap."""
        return self.persons - self.infants

    @property
    def cabins(self) -> int:
        berths = CABIN_BERTHS.get(self.accommodation)
        return math.ceil(self.occupants / berths) if berths else 0

    @property
    def pet_counts(self) -> dict[str, int]:
        """The pets by kind (PetType), kinds with none left out."""
        counts = {PetType.DOG: self.dogs, PetType.CAT: self.cats, PetType.OTHER: self.pets - self.dogs - self.cats}
        return {str(kind): n for kind, n in counts.items() if n > 0}

    def too_tall(self, max_height_cm: int) -> int | None:
        """The position of the first vehicle higher (with its roof load) than `max_height_cm`, or None."""
        return next((i for i, v in enumerate(self.vehicles) if v.overall_height_cm > max_height_cm), None)

    def needs(self) -> dict[str, int]:
        """What the party takes from a sailing's inventory: each vehicle its length and a gap in the lanes."""
        needs = {Resource.PASSENGERS: self.persons}
        if self.vehicles:
            needs[Resource.LANE_CM] = sum(v.overall_length_cm + LANE_GAP_CM for v in self.vehicles)
        if self.accommodation == Accommodation.SEAT:
            needs[Resource.SEAT] = self.occupants
        elif self.accommodation in CABIN_BERTHS:
            needs[self.accommodation] = self.cabins
        if self.pets and self.accommodation not in PETS_IN_CABIN:
            needs[Resource.KENNELS] = self.pets  # each in a kennel on deck
        return {str(resource): amount for resource, amount in needs.items()}

    def as_dict(self) -> dict:
        # Field by field: `asdict` would copy every value deeply, the vehicles twice (a search's keys ask for this
        # several times a miss). The same dict.
        vehicles = [{name: getattr(v, name) for name in _VEHICLE_FIELDS} for v in self.vehicles]
        return {name: getattr(self, name) for name in _PARTY_FIELDS} | {"vehicles": vehicles}

    @classmethod
    def from_dict(cls, data: dict) -> "Party":
        """The party of its wire form; one written before parties had several vehicles has one `vehicle` or null."""
        data = dict(data)
        vehicles = data.pop("vehicles", None) or ([data["vehicle"]] if data.get("vehicle") else [])
        data.pop("vehicle", None)
        return cls(**data, vehicles=tuple(Vehicle(**v) for v in vehicles))


_PARTY_FIELDS = [f.name for f in fields(Party)]
_VEHICLE_FIELDS = [f.name for f in fields(Vehicle)]


@dataclass(frozen=True)
class Extras:
    """What the party adds to one leg: meals (how many of the party take each), priority boarding, and
    cancellation protection (chosen for the whole booking, priced on each leg)."""

    dinners: int = 0
    breakfasts: int = 0
    priority_boarding: bool = False
    protection: bool = False

    def needs(self) -> dict[str, int]:
        """What the extras take from a sailing's inventory: priority boarding is limited per sailing."""
        return {str(Resource.PRIORITY_BOARDING): 1} if self.priority_boarding else {}

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict | None) -> "Extras":
        data = data or {}
        return cls(
            dinners=int(data.get("dinners", 0)),
            breakfasts=int(data.get("breakfasts", 0)),
            priority_boarding=bool(data.get("priority_boarding", False)),
            protection=bool(data.get("protection", False)),
        )


NO_EXTRAS = Extras()
