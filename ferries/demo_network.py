"""The demo network's data: operators, ports and their terminals, vessels, routes, the vessels' rotations, fare seasons
and price bands. ferries/demo.py builds the database from them."""

import datetime as dt
from dataclasses import dataclass

from ferries.choices import Accommodation, VehicleCategory

PORTS = [
    ("TNTUN", "Tunis (La Goulette)", "TN", "Africa/Tunis"),
    ("FRMRS", "Marseille", "FR", "Europe/Paris"),
    ("ITGOA", "Genoa", "IT", "Europe/Rome"),
    ("ITCIV", "Civitavecchia", "IT", "Europe/Rome"),
    ("ITPMO", "Palermo", "IT", "Europe/Rome"),
    ("ITCTA", "Catania", "IT", "Europe/Rome"),
    ("ITBRI", "Bari", "IT", "Europe/Rome"),
    ("ESBCN", "Barcelona", "ES", "Europe/Madrid"),
    ("ESALG", "Algeciras", "ES", "Europe/Madrid"),
    ("MAPTM", "Tanger Med", "MA", "Africa/Casablanca"),
    ("DZALG", "Algiers", "DZ", "Africa/Algiers"),
    ("MTMLA", "Valletta", "MT", "Europe/Malta"),
    ("GRPAS", "Patras", "GR", "Europe/Athens"),
]

# Where travellers check in at each port, and the ports whose border and customs controls make check-in close
# earlier than the operators' own time (minutes before departure).
TERMINALS = {
    "TNTUN": ("Gare maritime de La Goulette", "Port de La Goulette, 2060 La Goulette", 180),
    "FRMRS": ("Terminal Cap Janet", "Chemin du Littoral, 13015 Marseille", None),
    "ITGOA": ("Terminal Traghetti", "Via Milano 51, 16126 Genova", None),
    "ITCIV": ("Darsena Traghetti", "Porto di Civitavecchia, 00053 Civitavecchia", None),
    "ITPMO": ("Stazione Marittima", "Via Francesco Crispi, 90133 Palermo", None),
    "ITCTA": ("Stazione Marittima", "Via Dusmet, 95131 Catania", None),
    "ITBRI": ("Terminal Passeggeri, Molo San Vito", "Porto di Bari, 70122 Bari", None),
    "ESBCN": ("Terminal Ferry de Barcelona", "Moll de Sant Bertran 3, 08039 Barcelona", None),
    "ESALG": ("Estación Marítima", "Avenida de la Hispanidad 2, 11207 Algeciras", None),
    "MAPTM": ("Tanger Med Passagers", "Port Tanger Med, Ksar Sghir", 120),
    "DZALG": ("Gare maritime d'Alger", "Port d'Alger, 16000 Alger", 180),
    "MTMLA": ("Sea Passenger Terminal", "Valletta Waterfront, Floriana FRN 1913", None),
    "GRPAS": ("Νέος Λιμένας Πατρών", "Ακτή Δυμαίων, 263 33 Πάτρα", None),
}

# What drivers do at ports with controls before boarding; other ports have no rules of their own.
LANE_RULES = {
    "TNTUN": "Vehicles queue in the lanes marked with your ship's name from 4 hours before departure, for passport "
    "control, customs and the vehicle check. Stay with your vehicle until it has boarded.",
    "FRMRS": "Follow the signs to your destination's lanes (Tunisie, Algérie) at gate 4. Have passports and the "
    "vehicle's registration certificate in hand at the booth.",
    "DZALG": "Vehicles enter by the eastern gate and queue for customs from 4 hours before departure.",
    "MAPTM": "Follow the signs 'Passagers — Europe'; vehicles pass the scanner before the lanes.",
}
# An operator that checks in at a terminal of its own rather than the port's: (port, operator) → name, address.
OPERATOR_TERMINALS = {
    ("FRMRS", "CLN"): ("Terminal Maghreb, gate 4", "Chemin du Littoral, 13015 Marseille"),
}
_IDENTITY = "A passport for every passenger, children included"
_VEHICLE = "for a vehicle, its registration certificate and insurance valid in"
# What travellers carry, by the country of arrival.
TRAVEL_DOCUMENTS = {
    "TN": f"{_IDENTITY} (Tunisian citizens: national identity card); {_VEHICLE} Tunisia (green card marked TN).",
    "DZ": f"{_IDENTITY}, with a visa where required; {_VEHICLE} Algeria.",
    "MA": f"{_IDENTITY}; {_VEHICLE} Morocco (green card marked MA).",
}

OPERATORS = [
    ("CTN", "Compagnie Tunisienne de Navigation"),
    ("CLN", "Corsica Linea"),
    ("GNV", "Grandi Navi Veloci"),
    ("GRM", "Grimaldi Lines"),
    ("AFE", "Algérie Ferries"),
    ("VIR", "Virtu Ferries"),
    ("MIN", "Minoan Lines"),
    ("FRS", "FRS Iberia"),
]
# Minutes before departure at which each operator closes check-in (vehicles and foot passengers alike).
CHECK_IN_MINUTES = {"CTN": 120, "CLN": 90, "GNV": 120, "GRM": 120, "AFE": 120, "VIR": 45, "MIN": 90, "FRS": 60}


@dataclass(frozen=True)
class VesselSpec:
    operator: str
    name: str
    passengers: int
    lane_metres: int
    max_height_cm: int
    cabins: bool  # overnight ships have seats and cabins; short crossings only deck and seats


VESSELS = [
    VesselSpec("CTN", "Carthage", 2200, 2250, 450, True),
    VesselSpec("CTN", "Tanit", 3200, 2700, 450, True),
    VesselSpec("CLN", "Jean Nicoli", 1500, 2000, 450, True),
    VesselSpec("GNV", "La Suprema", 2900, 2600, 450, True),
    VesselSpec("GNV", "Excellent", 2250, 2200, 450, True),
    VesselSpec("GRM", "Cruise Roma", 3000, 3000, 450, True),
    VesselSpec("GRM", "Cruise Bonaria", 2800, 2800, 450, True),
    VesselSpec("AFE", "Tariq Ibn Ziyad", 1300, 1700, 420, True),
    VesselSpec("VIR", "Saint John Paul II", 900, 500, 220, False),
    VesselSpec("MIN", "Cruise Europa", 2500, 2800, 450, True),
    VesselSpec("FRS", "Tanger Express", 1000, 600, 400, False),
    VesselSpec("FRS", "Kattegat", 1200, 1000, 420, False),
    VesselSpec("GNV", "Splendid", 2300, 2200, 450, True),
    VesselSpec("GRM", "Cruise Sardegna", 2500, 2600, 450, True),
]


@dataclass(frozen=True)
class RouteSpec:
    operator: str
    a: str
    b: str
    hours: float  # crossing time, the same every day either way
    adult_eur: int  # adult deck fare in the low season, euros


ROUTES = [
    RouteSpec("CTN", "TNTUN", "FRMRS", 21, 140),
    RouteSpec("CTN", "TNTUN", "ITGOA", 24, 130),
    RouteSpec("CLN", "FRMRS", "TNTUN", 22, 135),
    RouteSpec("CLN", "FRMRS", "DZALG", 20, 150),
    RouteSpec("GNV", "ITGOA", "TNTUN", 24, 125),
    RouteSpec("GNV", "ITGOA", "ITPMO", 20, 85),
    RouteSpec("GNV", "ITGOA", "ESBCN", 19, 95),
    RouteSpec("GRM", "ITCIV", "TNTUN", 21, 120),
    RouteSpec("GRM", "ITPMO", "TNTUN", 11, 80),
    RouteSpec("GRM", "ITCIV", "ESBCN", 20, 90),
    RouteSpec("AFE", "DZALG", "FRMRS", 20, 145),
    RouteSpec("VIR", "ITCTA", "MTMLA", 3, 60),
    RouteSpec("MIN", "ITBRI", "GRPAS", 16, 75),
    RouteSpec("FRS", "ESALG", "MAPTM", 1.5, 40),
]


@dataclass(frozen=True)
class Rotation:
    """What one vessel sails, again every `days` days: legs of (day of the cycle, departure in the local time of
    the port it leaves, from, to). Cycles count from EPOCH, a Monday, so a weekly rotation's days are weekdays
    (Monday = 0). Each leg leaves from the port the one before arrived at, with time to turn the ship around
    however far apart the two ports' clocks are in the year (summer time, Ramadan in Morocco)."""

    vessel: str
    days: int
    legs: tuple[tuple[int, str, str, str], ...]


EPOCH = dt.date(2024, 1, 1)
MON, TUE, WED, THU, FRI, SAT, SUN = range(7)

ROTATIONS = [
    # Tunis ⇄ Marseille twice a week, Tunis ⇄ Genoa twice a week.
    Rotation("Carthage", 7, ((MON, "12:00", "TNTUN", "FRMRS"), (TUE, "18:00", "FRMRS", "TNTUN"),
                             (THU, "12:00", "TNTUN", "FRMRS"), (FRI, "18:00", "FRMRS", "TNTUN"))),
    Rotation("Tanit", 7, ((TUE, "11:00", "TNTUN", "ITGOA"), (WED, "17:00", "ITGOA", "TNTUN"),
                          (FRI, "11:00", "TNTUN", "ITGOA"), (SAT, "17:00", "ITGOA", "TNTUN"))),
    Rotation("Jean Nicoli", 7, ((MON, "19:00", "FRMRS", "TNTUN"), (TUE, "21:00", "TNTUN", "FRMRS"),
                                (THU, "19:00", "FRMRS", "DZALG"), (FRI, "20:00", "DZALG", "FRMRS"))),
    # Genoa ⇄ Palermo every evening both ways: two ships, each out one day and back the next.
    Rotation("La Suprema", 2, ((0, "20:00", "ITGOA", "ITPMO"), (1, "20:00", "ITPMO", "ITGOA"))),
    Rotation("Excellent", 2, ((0, "20:00", "ITPMO", "ITGOA"), (1, "20:00", "ITGOA", "ITPMO"))),
    Rotation("Splendid", 7, ((MON, "21:00", "ITGOA", "TNTUN"), (WED, "11:00", "TNTUN", "ITGOA"),
                             (THU, "22:00", "ITGOA", "ESBCN"), (FRI, "22:00", "ESBCN", "ITGOA"),
                             (SAT, "22:00", "ITGOA", "ESBCN"), (SUN, "22:00", "ESBCN", "ITGOA"))),
    # Civitavecchia ⇄ Barcelona every night both ways, as Genoa ⇄ Palermo.
    Rotation("Cruise Roma", 2, ((0, "22:00", "ITCIV", "ESBCN"), (1, "22:00", "ESBCN", "ITCIV"))),
    Rotation("Cruise Bonaria", 2, ((0, "22:00", "ESBCN", "ITCIV"), (1, "22:00", "ITCIV", "ESBCN"))),
    Rotation("Cruise Sardegna", 7, ((SUN, "22:00", "ITCIV", "TNTUN"), (MON, "21:00", "TNTUN", "ITPMO"),
                                    (TUE, "21:00", "ITPMO", "TNTUN"), (WED, "21:00", "TNTUN", "ITCIV"),
                                    (THU, "22:00", "ITCIV", "TNTUN"), (FRI, "21:00", "TNTUN", "ITCIV"))),
    Rotation("Tariq Ibn Ziyad", 7, ((MON, "12:00", "DZALG", "FRMRS"), (TUE, "17:00", "FRMRS", "DZALG"),
                                    (THU, "12:00", "DZALG", "FRMRS"), (FRI, "17:00", "FRMRS", "DZALG"))),
    # Short crossings: back and forth all day.
    Rotation("Saint John Paul II", 1, ((0, "06:30", "MTMLA", "ITCTA"), (0, "11:00", "ITCTA", "MTMLA"),
                                       (0, "16:00", "MTMLA", "ITCTA"), (0, "20:30", "ITCTA", "MTMLA"))),
    Rotation("Cruise Europa", 7, ((MON, "19:30", "ITBRI", "GRPAS"), (TUE, "17:30", "GRPAS", "ITBRI"),
                                  (WED, "19:30", "ITBRI", "GRPAS"), (THU, "17:30", "GRPAS", "ITBRI"),
                                  (FRI, "19:30", "ITBRI", "GRPAS"), (SAT, "17:30", "GRPAS", "ITBRI"))),
    # Algeciras ⇄ Tanger Med four times a day each way, two ships crossing each other.
    Rotation("Tanger Express", 1, ((0, "08:00", "ESALG", "MAPTM"), (0, "11:00", "MAPTM", "ESALG"),
                                   (0, "16:00", "ESALG", "MAPTM"), (0, "19:00", "MAPTM", "ESALG"))),
    Rotation("Kattegat", 1, ((0, "08:00", "MAPTM", "ESALG"), (0, "12:00", "ESALG", "MAPTM"),
                             (0, "15:00", "MAPTM", "ESALG"), (0, "20:00", "ESALG", "MAPTM"))),
]  # fmt: skip


SEASONS = [
    ("Winter", (11, 12, 1, 2, 3), 1.0),
    ("Spring", (4, 5, 6), 1.25),
    ("Summer", (7, 8), 1.7),
    ("Autumn", (9, 10), 1.25),
]

VEHICLE_BANDS = {  # category: ((up to cm, euros in low season), ...)
    VehicleCategory.CAR: ((500, 160), (600, 210)),
    VehicleCategory.CAR_TRAILER: ((1200, 320), (1800, 450)),
    VehicleCategory.VAN: ((600, 230), (800, 300)),
    VehicleCategory.CAMPER: ((800, 330), (1200, 460)),
    VehicleCategory.MOTORCYCLE: ((350, 60),),
    VehicleCategory.BICYCLE: ((300, 15),),
    VehicleCategory.TRAILER: ((400, 110), (900, 190)),
}
CABIN_EUR = {
    Accommodation.INSIDE_2: 90,
    Accommodation.INSIDE_4: 120,
    Accommodation.OUTSIDE_2: 130,
    Accommodation.OUTSIDE_4: 170,
    Accommodation.ACCESSIBLE_2: 90,  # as an inside cabin
    Accommodation.PET_4: 140,
}
