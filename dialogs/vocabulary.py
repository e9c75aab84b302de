"""The words the request parser reads, one table per language: data, not code.

dialogs.grammar turns a table (English's merged with the user's language) into patterns.
Words are written in lower case with their accents; forms without accents ("manana"), with
"ae/oe/ue" for German umlauts, with a typographic apostrophe or a space for a hyphen are added
by the grammar, so they are not listed here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# Parts of the day a day word can carry ("tomorrow morning", "ce soir"), as hours are read.
MORNING, AFTERNOON, EVENING = "morning", "afternoon", "evening"


@dataclass(frozen=True)
class Words:
    """One language's vocabulary for meeting requests."""

    language: str
    now: tuple[str, ...] = ()
    in_: tuple[str, ...] = ()  # "in 2 hours"
    for_: tuple[str, ...] = ()  # "for 45 minutes"
    hour_units: tuple[str, ...] = ()
    minute_units: tuple[str, ...] = ()
    length_joiners: tuple[str, ...] = ()  # "1 hour and 30 minutes"
    lengths: Mapping[str, int] = field(default_factory=dict)  # whole phrases, in minutes
    # 24-hour markers after an hour ("15 Uhr", "15h", "16 heures"): a clock, read as written.
    clock_markers: tuple[str, ...] = ()
    marker_minutes: bool = False  # minutes may follow the marker: "15h30", "16 heures 30"
    # Words that may follow "at N" and say nothing more ("a las 16 horas").
    at_suffixes: tuple[str, ...] = ()
    meridiems: Mapping[str, str] = field(default_factory=dict)  # after a time: "am" or "pm"
    # Minutes said in words after the hour ("16h et quart", "a las 4 y media"), and words
    # for half an hour before it ("um halb 4" is 3:30).
    minute_words: Mapping[str, int] = field(default_factory=dict)
    half_before: tuple[str, ...] = ()
    clock_words: Mapping[str, int] = field(default_factory=dict)  # "noon" → 12 o'clock
    at: tuple[str, ...] = ()
    range_from: tuple[str, ...] = ()  # "from 9 to 17"
    range_to: tuple[str, ...] = ()
    between: tuple[str, ...] = ()  # "between 9 and 10"
    and_: tuple[str, ...] = ()
    on: tuple[str, ...] = ()  # before a day: "on Friday", "am Montag"
    relative_days: Mapping[str, tuple[int, str | None]] = field(default_factory=dict)
    day_not_after: tuple[str, ...] = ()  # a relative day is no day after these ("la mañana")
    parts_of_day: Mapping[str, str] = field(default_factory=dict)  # after a day word
    weekdays: Mapping[str, int] = field(default_factory=dict)  # Monday is 0
    next_before: tuple[str, ...] = ()  # "next Monday"
    next_after: tuple[str, ...] = ()  # "lundi prochain"
    this_before: tuple[str, ...] = ()  # "this Monday"
    next_week: tuple[str, ...] = ()  # "Friday next week": that weekday in the next week
    months: Mapping[str, int] = field(default_factory=dict)
    day_suffixes: tuple[str, ...] = ()  # after a day of the month: "3rd", "8.", "1er"
    of: tuple[str, ...] = ()  # "3rd of December", "8 de diciembre de 2026"
    # Words that point to the past; each is refused with its own name.
    past_days: tuple[str, ...] = ()  # "yesterday"
    last_before: tuple[str, ...] = ()  # "last Monday", "letzte Woche"
    last_after: tuple[str, ...] = ()  # "lundi dernier", "el lunes pasado"
    periods: tuple[str, ...] = ()  # what "last" may name besides a weekday
    ago_before: tuple[str, ...] = ()  # "vor 2 Tagen", "il y a 2 jours", "hace 2 días"
    ago_after: tuple[str, ...] = ()  # "2 days ago"
    ago_units: tuple[str, ...] = ()
    # "<city> time" and its kin: words after or before a place that name its time zone.
    zone_after: tuple[str, ...] = ()
    zone_before: tuple[str, ...] = ()
    # Words of this language that are also zone abbreviations: zones only in capitals ("ET").
    not_zones: tuple[str, ...] = ()


def _numbered(*groups: tuple[str, ...], start: int = 0) -> dict[str, int]:
    return {name: index for index, names in enumerate(groups, start) for name in names}


ENGLISH = Words(
    language="en",
    now=("now", "right now"),
    in_=("in",),
    for_=("for",),
    hour_units=("h", "hr", "hrs", "hour", "hours"),
    minute_units=("m", "min", "mins", "minute", "minutes"),
    length_joiners=("and",),
    lengths={
        "half an hour": 30,
        "half a hour": 30,
        "half hour": 30,
        "a half hour": 30,
        "quarter of an hour": 15,
        "a quarter of an hour": 15,
        "quarter an hour": 15,
        "a quarter an hour": 15,
        "quarter of a hour": 15,
        "a quarter of a hour": 15,
        "quarter a hour": 15,
        "a quarter a hour": 15,
        "quarter hour": 15,
        "a quarter hour": 15,
        "an hour": 60,
        "a hour": 60,
        "one hour": 60,
        "an hour and a half": 90,
        "one and a half hours": 90,
        "an hour and a quarter": 75,
        "1/2 hour": 30,
        "1/2 an hour": 30,
        "1/2 h": 30,
    },
    meridiems={
        "am": "am",
        "a.m.": "am",
        "pm": "pm",
        "p.m.": "pm",
        "in the morning": "am",
        "in the afternoon": "pm",
        "in the evening": "pm",
        "at night": "pm",
    },
    clock_words={"noon": 12, "midday": 12, "midnight": 0},
    at=("at",),
    range_from=("from",),
    range_to=("to", "until", "till", "til"),
    between=("between",),
    and_=("and",),
    on=("on",),
    relative_days={
        "today": (0, None),
        "tonight": (0, EVENING),
        "this morning": (0, MORNING),
        "this afternoon": (0, AFTERNOON),
        "this evening": (0, EVENING),
        "tomorrow": (1, None),
        "tmrw": (1, None),
        "tmr": (1, None),
        "day after tomorrow": (2, None),
        "the day after tomorrow": (2, None),
    },
    parts_of_day={
        "morning": MORNING,
        "afternoon": AFTERNOON,
        "evening": EVENING,
        "night": EVENING,
    },
    weekdays=_numbered(
        ("monday", "mon"),
        ("tuesday", "tue", "tues"),
        ("wednesday", "wed"),
        ("thursday", "thu", "thur", "thurs"),
        ("friday", "fri"),
        ("saturday", "sat"),
        ("sunday", "sun"),
    ),
    next_before=("next",),
    this_before=("this",),
    next_week=("next week",),
    months=_numbered(
        ("january", "jan"),
        ("february", "feb"),
        ("march", "mar"),
        ("april", "apr"),
        ("may",),
        ("june", "jun"),
        ("july", "jul"),
        ("august", "aug"),
        ("september", "sep", "sept"),
        ("october", "oct"),
        ("november", "nov"),
        ("december", "dec"),
        start=1,
    ),
    day_suffixes=("st", "nd", "rd", "th"),
    of=("of",),
    past_days=("yesterday", "day before yesterday", "the day before yesterday", "last night"),
    last_before=("last", "this past"),
    periods=("week", "weekend", "month", "year"),
    ago_after=("ago",),
    ago_units=(
        "minute",
        "minutes",
        "min",
        "mins",
        "hour",
        "hours",
        "h",
        "day",
        "days",
        "week",
        "weeks",
        "month",
        "months",
        "year",
        "years",
    ),
    zone_after=("time",),
)

GERMAN = Words(
    language="de",
    now=("jetzt", "sofort", "gleich jetzt"),
    in_=("in",),
    for_=("für", "fuer"),
    hour_units=("h", "std", "std.", "stunde", "stunden", "stündig"),
    minute_units=("min", "min.", "minute", "minuten"),
    length_joiners=("und",),
    lengths={
        "eine halbe stunde": 30,
        "halbe stunde": 30,
        "eine viertelstunde": 15,
        "viertelstunde": 15,
        "eine viertel stunde": 15,
        "eine stunde": 60,
        "anderthalb stunden": 90,
        "eineinhalb stunden": 90,
        "einhalb stunden": 90,
        "eine dreiviertelstunde": 45,
        "dreiviertelstunde": 45,
    },
    clock_markers=("uhr",),
    meridiems={
        "morgens": "am",
        "früh": "am",
        "vormittags": "am",
        "nachmittags": "pm",
        "abends": "pm",
        "nachts": "pm",
    },
    half_before=("halb",),
    clock_words={"mittag": 12, "mittags": 12, "mitternacht": 0},
    at=("um", "gegen", "ab"),
    range_from=("von", "ab"),
    range_to=("bis",),
    between=("zwischen",),
    and_=("und",),
    on=("am", "den"),
    relative_days={
        "heute": (0, None),
        "heute früh": (0, MORNING),
        "heute morgen": (0, MORNING),
        "heute vormittag": (0, MORNING),
        "heute nachmittag": (0, AFTERNOON),
        "heute abend": (0, EVENING),
        "heute nacht": (0, EVENING),
        "morgen": (1, None),
        "übermorgen": (2, None),
    },
    parts_of_day={
        "früh": MORNING,
        "vormittag": MORNING,
        "nachmittag": AFTERNOON,
        "abend": EVENING,
    },
    weekdays=_numbered(
        ("montag",),
        ("dienstag",),
        ("mittwoch",),
        ("donnerstag",),
        ("freitag",),
        ("samstag", "sonnabend"),
        ("sonntag",),
    ),
    next_before=("nächsten", "nächster", "nächste", "kommenden", "kommender", "kommende"),
    next_week=("nächste woche", "nächster woche", "kommende woche", "in der nächsten woche"),
    this_before=("diesen", "dieser", "diese"),
    months=_numbered(
        ("januar", "jänner", "jan"),
        ("februar", "feber", "feb"),
        ("märz", "mär", "mrz"),
        ("april", "apr"),
        ("mai",),
        ("juni", "jun"),
        ("juli", "jul"),
        ("august", "aug"),
        ("september", "sept", "sep"),
        ("oktober", "okt"),
        ("november", "nov"),
        ("dezember", "dez"),
        start=1,
    ),
    day_suffixes=(".",),
    past_days=("gestern", "vorgestern", "gestern abend", "gestern früh"),
    last_before=(
        "letzten",
        "letzter",
        "letzte",
        "letztes",
        "vergangenen",
        "vergangener",
        "vergangene",
        "vergangenes",
        "vorigen",
        "voriger",
        "vorige",
        "voriges",
    ),
    periods=("woche", "wochenende", "monat", "jahr"),
    ago_before=("vor",),
    ago_units=(
        "minute",
        "minuten",
        "stunde",
        "stunden",
        "tag",
        "tagen",
        "woche",
        "wochen",
        "monat",
        "monaten",
        "jahr",
        "jahren",
    ),
)

FRENCH = Words(
    language="fr",
    now=("maintenant", "tout de suite"),
    in_=("dans",),
    for_=("pendant", "durant", "pour"),
    hour_units=("h", "heure", "heures"),
    minute_units=("min", "mn", "minute", "minutes"),
    length_joiners=("et",),
    lengths={
        "une demi-heure": 30,
        "demi-heure": 30,
        "un quart d'heure": 15,
        "quart d'heure": 15,
        "trois quarts d'heure": 45,
        "une heure": 60,
        "une heure et demie": 90,
        "une heure et quart": 75,
    },
    clock_markers=("h", "heure", "heures"),
    marker_minutes=True,
    meridiems={
        "du matin": "am",
        "de l'après-midi": "pm",
        "du soir": "pm",
    },
    minute_words={"et quart": 15, "et demie": 30, "et demi": 30, "moins le quart": -15},
    clock_words={"midi": 12, "minuit": 0},
    at=("à", "a", "vers"),
    range_from=("de",),
    range_to=("à", "a", "jusqu'à"),
    between=("entre",),
    and_=("et",),
    on=("le",),
    relative_days={
        "aujourd'hui": (0, None),
        "ce matin": (0, MORNING),
        "cet après-midi": (0, AFTERNOON),
        "ce soir": (0, EVENING),
        "demain": (1, None),
        "après-demain": (2, None),
    },
    parts_of_day={
        "matin": MORNING,
        "après-midi": AFTERNOON,
        "soir": EVENING,
    },
    weekdays=_numbered(
        ("lundi",),
        ("mardi",),
        ("mercredi",),
        ("jeudi",),
        ("vendredi",),
        ("samedi",),
        ("dimanche",),
    ),
    next_after=("prochain",),
    this_before=("ce",),
    next_week=("la semaine prochaine", "semaine prochaine", "de la semaine prochaine"),
    months=_numbered(
        ("janvier", "janv"),
        ("février", "févr", "fév"),
        ("mars",),
        ("avril", "avr"),
        ("mai",),
        ("juin",),
        ("juillet", "juil"),
        ("août",),
        ("septembre",),
        ("octobre",),
        ("novembre",),
        ("décembre", "déc"),
        start=1,
    ),
    day_suffixes=("er",),
    past_days=("hier", "avant-hier", "hier soir", "hier matin"),
    last_after=("dernier", "dernière", "passé", "passée"),
    periods=("semaine", "week-end", "mois", "année", "an"),
    ago_before=("il y a",),
    ago_units=(
        "minute",
        "minutes",
        "heure",
        "heures",
        "h",
        "jour",
        "jours",
        "semaine",
        "semaines",
        "mois",
        "an",
        "ans",
        "année",
        "années",
    ),
    zone_before=("heure de", "heure d'"),
    not_zones=("et", "est"),
)

SPANISH = Words(
    language="es",
    now=("ahora", "ahora mismo"),
    in_=("en", "dentro de"),
    for_=("durante", "por"),
    hour_units=("h", "hora", "horas"),
    minute_units=("min", "minuto", "minutos"),
    length_joiners=("y",),
    lengths={
        "media hora": 30,
        "un cuarto de hora": 15,
        "cuarto de hora": 15,
        "tres cuartos de hora": 45,
        "una hora": 60,
        "una hora y media": 90,
        "hora y media": 90,
        "una hora y cuarto": 75,
    },
    clock_markers=("h",),
    marker_minutes=True,
    at_suffixes=("horas", "hrs", "hs"),
    meridiems={
        "de la mañana": "am",
        "de la tarde": "pm",
        "de la noche": "pm",
    },
    minute_words={"y cuarto": 15, "y media": 30, "menos cuarto": -15},
    clock_words={"mediodía": 12, "medianoche": 0},
    at=("a las", "a la", "sobre las", "hacia las"),
    range_from=("de", "desde", "de las", "desde las"),
    range_to=("a", "hasta", "a las", "hasta las"),
    between=("entre", "entre las"),
    and_=("y", "y las"),
    on=("el",),
    relative_days={
        "hoy": (0, None),
        "esta mañana": (0, MORNING),
        "esta tarde": (0, AFTERNOON),
        "esta noche": (0, EVENING),
        "mañana": (1, None),
        "pasado mañana": (2, None),
    },
    day_not_after=("la",),
    parts_of_day={
        "por la mañana": MORNING,
        "por la tarde": AFTERNOON,
        "por la noche": EVENING,
        "de la mañana": MORNING,  # "la reunión de la mañana": not tomorrow's
        "de la tarde": AFTERNOON,
        "de la noche": EVENING,
    },
    weekdays=_numbered(
        ("lunes",),
        ("martes",),
        ("miércoles",),
        ("jueves",),
        ("viernes",),
        ("sábado",),
        ("domingo",),
    ),
    next_before=("próximo", "proximo"),
    next_after=("próximo", "que viene"),
    this_before=("este",),
    next_week=(
        "la próxima semana",
        "la semana que viene",
        "de la semana que viene",
        "la semana próxima",
        "de la próxima semana",
    ),
    months=_numbered(
        ("enero", "ene"),
        ("febrero",),
        ("marzo",),
        ("abril", "abr"),
        ("mayo",),
        ("junio",),
        ("julio",),
        ("agosto",),  # not "ago": English reads it as the past
        ("septiembre", "setiembre"),
        ("octubre",),
        ("noviembre",),
        ("diciembre", "dic"),
        start=1,
    ),
    day_suffixes=("º", "°"),
    of=("de",),
    past_days=("ayer", "anteayer", "antier", "antes de ayer", "anoche"),
    last_before=("pasado", "el pasado"),
    last_after=("pasado", "pasada"),
    periods=("semana", "fin de semana", "mes", "año"),
    ago_before=("hace",),
    ago_units=(
        "minuto",
        "minutos",
        "hora",
        "horas",
        "día",
        "días",
        "semana",
        "semanas",
        "mes",
        "meses",
        "año",
        "años",
    ),
    zone_before=("hora de",),
)

LANGUAGES: Mapping[str, Words] = {
    words.language: words for words in (ENGLISH, GERMAN, FRENCH, SPANISH)
}
