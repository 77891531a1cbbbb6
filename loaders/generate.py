"""Sample data: a B2B software vendor's customers as its five systems see them.

The vendor ("Brightwave Analytics", brightwave.io) sells to companies; people at those
companies show up in the CRM (contacts, with their account), billing (billing
customers with the payment entity that pays and its parent entity), support (ticket
requesters), product analytics (identify events) and marketing (leads and audience
members), each with its own IDs and quirks, and with realistic noise:

- one person with a corporate and sometimes a personal address (Gmail dots and
  +tags included), name typos, nicknames (Bob/Robert), transliterations (Müller,
  Mueller, Muller; Dmitriy, Dmitry), case and width noise, phones in national and
  international formats, missing fields, aliases on the corporate domain;
- stale CRM duplicates (the same person twice, older data on the older contact);
- companies with subsidiaries (own domain and payment entity; billing's parent
  payment entity points at the parent's);
- people who only ever use a consumer mailbox (put in their account by the CRM
  account website or the billing payment entity);
- shared devices (rare, two people), and hubs: the vendor's support kiosk device,
  its support@/billing@ mailboxes used on behalf of customers, a reseller's payment
  entity paying for many companies. A hub never is the only link between two
  records of a person;
- a few rows that must be quarantined (missing ID, bad timestamp, wrong type,
  conflicting duplicate ID, missing payment entity, broken JSON line).

Resolvability: every record of a multi-record person shares a strong person-level
identifier (email, user ID or phone, hubs excluded) with another of that person's
records, except a `weak_link_rate` minority that links only by name + corporate
domain + postcode, and anonymous product events (device only). Different people never
share a person-level identifier except hubs and the rare shared device. Every person
has account evidence (corporate domain or own payment entity) on some record.

Output (in OUT_DIR): crm.csv, billing.csv, support.csv, product.jsonl,
marketing.jsonl (mappings: loaders/mappings/<source>.yaml), and
- truth.csv: `source,source_id,person_id,account_id`, one line per row meant to load
  (rows written to exercise the quarantine are not listed); account_id is the company
  (subsidiary, not its parent) the person works for;
- accounts.csv: `account_id,parent_account_id,name,domain,payment_entity,country`,
  the company hierarchy (parent_account_id empty for top-level companies).

Deterministic: the same (records, seed, noise) gives byte-identical files.
"""

from __future__ import annotations

import csv
import json
import random
import time
import unicodedata
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

SOURCES = ("crm", "billing", "support", "product", "marketing")
FILES = {"crm": "crm.csv", "billing": "billing.csv", "support": "support.csv",
         "product": "product.jsonl", "marketing": "marketing.jsonl"}
VENDOR_DOMAIN = "brightwave.io"
TRUTH_COLUMNS = ("source", "source_id", "person_id", "account_id")
ACCOUNT_COLUMNS = ("account_id", "parent_account_id", "name", "domain", "payment_entity", "country")


@dataclass(frozen=True)
class Noise:
    """Population shape and noise rates (defaults give a realistic, resolvable mix).

    Rates are per person unless they say per record/row.
    """

    mix: tuple[tuple[str, float], ...] = (
        ("crm", 0.30), ("billing", 0.10), ("support", 0.15), ("product", 0.25), ("marketing", 0.20))
    records_per_person: float = 2.5  # sets the number of people
    people_per_account: float = 8.0  # mean; sizes are skewed (a few large accounts)
    subsidiary_rate: float = 0.08  # accounts that are subsidiaries of another account
    consumer_only_rate: float = 0.04  # people using only a personal (consumer) mailbox
    personal_email_rate: float = 0.30  # people who also have a personal mailbox
    product_user_rate: float = 0.45  # people with a product user ID
    name_typo_rate: float = 0.03  # per record: one typo in first or last name
    nickname_rate: float = 0.06  # per record: nickname instead of first name (when one exists)
    transliteration_rate: float = 0.30  # per record: ASCII/alternate spelling (when one exists)
    case_noise_rate: float = 0.05  # per record: UPPER/lower/extra spaces/full-width name
    missing_rate: float = 0.10  # per optional field
    stale_duplicate_rate: float = 0.06  # CRM contacts with an older duplicate contact
    weak_link_rate: float = 0.03  # per record: linked only by name + domain + postcode
    namesake_rate: float = 0.01  # people who may share a full name with a colleague (small
    # name pools would otherwise make same-company namesakes far more common than in life)
    anonymous_rate: float = 0.03  # per product event: logged out (device only)
    shared_device_rate: float = 0.005  # people sharing a device with another person
    kiosk_rate: float = 0.02  # per product event: the vendor's support kiosk device
    hub_mailbox_rate: float = 0.03  # per support/billing row: the vendor's support@/billing@
    reseller_rate: float = 0.05  # per billing row: paid through the reseller's payment entity
    junk_id_rate: float = 0.02  # per product/support row: junk device/user ID ("0", "unknown"...)
    plus_tag_rate: float = 0.15  # per marketing row with a Gmail address: a +tag or dots variant
    bad_row_rate: float = 0.0005  # per row: a row the loader must quarantine
    max_events: int = 6  # product events per user (keeps user_id degree low)


@dataclass
class GenerateResult:
    out_dir: Path
    files: dict[str, Path]
    counts: dict[str, int]  # rows written per source (bad rows included)
    bad_rows: dict[str, int]
    persons: int
    accounts: int
    truth: Path
    accounts_file: Path
    elapsed: float
    seed: int
    noise: dict[str, object] = field(default_factory=dict)

    @property
    def records(self) -> int:
        return sum(self.counts.values())


# -- vocabulary ------------------------------------------------------------------------

_NAMES = {
    "en": (
        "James Robert John Michael William David Richard Joseph Thomas Christopher Daniel Matthew Anthony Mark Steven "
        "Andrew Joshua Kevin Brian George Edward Jonathan Samuel Benjamin Nicholas Patrick Alexander Gregory Ryan "
        "Mary Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen Nancy Margaret Emily Rebecca "
        "Katherine Deborah Victoria Rachel Laura Hannah Olivia Emma Sophie Charlotte Grace Megan Amanda Stephanie Nicole",
        "Smith Johnson Williams Brown Jones Miller Davis Wilson Anderson Taylor Thomas Moore Jackson Martin Thompson White "
        "Harris Clark Lewis Robinson Walker Young Allen King Wright Scott Hill Green Adams Baker Nelson Carter Mitchell "
        "Roberts Turner Phillips Campbell Parker Evans Edwards Collins Stewart Morris Murphy Cook Rogers Morgan Cooper "
        "Peterson Bailey Reed Kelly Howard Cox Ward Richardson Watson Brooks Wood James Bennett Gray Hughes Price Sanders "
        "O'Brien O'Connor McDonald MacLeod Fitzgerald Sullivan Kennedy Hayes Foster Graham Fraser Henderson",
    ),
    "de": (
        "Jürgen Jörg Björn Uwe Sören Jens Maximilian Lukas Felix Matthias Stefan Andreas Tobias Florian Günter "
        "Katrin Anke Lena Jülia Anna Sabine Claudia Petra Franziska Sophie Jana Käthe Birgit Ute Hannah",
        "Müller Schröder Schäfer Weiß Groß Köhler Fischer Wagner Becker Hoffmann Koch Bauer Richter Klein Wolf Neumann "
        "Schwarz Zimmermann Krüger Hartmann Lange Werner Krause Meier Lehmann Schmitz Schulz Maier Braun Hübner "
        "Jäger Vogel Böhm Förster Kühn Möller Sommer Fuchs Scholz Günther",
    ),
    "fr": (
        "François Hélène Jérôme Céline Amélie Élodie Stéphane Frédéric Sébastien Benoît Chloé Léa Théo Noé Aurélie "
        "Mathieu Julien Camille Manon Thibault Gaëlle Loïc Maëlle Cédric Valérie",
        "Lefèvre Gérard Fauré Martin Dubois Moreau Lefebvre Girard Bonnet Dupont Lambert Fontaine Rousseau Vincent "
        "Mercier Bérenger Chevalier Lemaître Leclerc Roux Faure André Garnier Rivière Ménard",
    ),
    "es": (
        "José María Jesús Ángel Lucía Sofía Javier Carlos Álvaro Sergio Pablo Raúl Marta Elena Carmen Inés Andrés "
        "João Conceição Gonçalo Thiago Mariana Letícia Vinícius Júlia",
        "García Martínez López Hernández González Pérez Sánchez Gómez Fernández Muñoz Díaz Álvarez Romero Jiménez "
        "Rodríguez Ruiz Navarro Torres Gonçalves Araújo Magalhães Simões Conceição Ribeiro Souza",
    ),
    "pl": (
        "Łukasz Paweł Wojciech Małgorzata Agnieszka Krzysztof Tomasz Piotr Katarzyna Michał Zofia Jędrzej Bartłomiej "
        "Dmitriy Sergey Aleksandr Yevgeny Natalya Olga Yuliya",
        "Kowalski Wiśniewski Wójcik Kamiński Lewandowski Zieliński Szymański Woźniak Dąbrowski Kozłowski Jankowski "
        "Mazur Krawczyk Ivanov Smirnov Kuznetsov Popov Sokolov Petrov Fyodorov",
    ),
    "sv": (
        "Björn Åsa Linnéa Göran Sören Maja Elsa Oskar Håkan Mårten Ingrid Astrid Nils Ståle Øystein Jørgen",
        "Johansson Andersson Karlsson Nilsson Eriksson Larsson Öberg Åberg Lindström Sjöberg Ström Holm Bergström "
        "Sørensen Jørgensen Løkke",
    ),
    "ja": (
        "Hiroshi Yūki Kenji Ayumi Shōta Takeshi Haruka Naoko Kōji Yōko Daisuke Emi Ryō Satoshi Mai",
        "Satō Suzuki Takahashi Tanaka Itō Watanabe Yamamoto Nakamura Kobayashi Katō Yoshida Yamada Sasaki Inoue Kimura",
    ),
}
_LANG = {"US": "en", "GB": "en", "CA": "en", "AU": "en", "DE": "de", "FR": "fr", "NL": "en", "ES": "es",
         "BR": "es", "PL": "pl", "SE": "sv", "JP": "ja"}
_COUNTRIES = (("US", 0.40), ("GB", 0.12), ("DE", 0.11), ("FR", 0.07), ("NL", 0.04), ("ES", 0.04), ("BR", 0.04),
              ("PL", 0.04), ("SE", 0.03), ("JP", 0.04), ("CA", 0.04), ("AU", 0.03))
_COUNTRY_NAMES = {
    "US": ("United States", "USA", "US", "U.S."), "GB": ("United Kingdom", "UK", "GB", "England"),
    "DE": ("Germany", "Deutschland", "DE", "DEU"), "FR": ("France", "FR", "FRA"), "NL": ("Netherlands", "NL", "Holland"),
    "ES": ("Spain", "España", "ES"), "BR": ("Brazil", "Brasil", "BR"), "PL": ("Poland", "Polska", "PL"),
    "SE": ("Sweden", "Sverige", "SE"), "JP": ("Japan", "JP", "JPN"), "CA": ("Canada", "CA", "CAN"),
    "AU": ("Australia", "AU", "AUS"),
}
_TLD = {"US": (".com", ".io", ".co", ".com"), "GB": (".co.uk", ".com", ".uk"), "DE": (".de", ".com"), "FR": (".fr", ".com"),
        "NL": (".nl", ".com"), "ES": (".es", ".com"), "BR": (".com.br",), "PL": (".pl", ".com"), "SE": (".se", ".com"),
        "JP": (".co.jp", ".jp"), "CA": (".ca", ".com"), "AU": (".com.au",)}
_LEGAL = {"US": ("Inc.", "LLC", "Corp.", "Inc"), "GB": ("Ltd", "Limited", "PLC", "Ltd."), "DE": ("GmbH", "AG", "GmbH & Co. KG"),
          "FR": ("SAS", "SA", "SARL"), "NL": ("B.V.", "BV", "N.V."), "ES": ("S.L.", "S.A."), "BR": ("Ltda", "S.A."),
          "PL": ("Sp. z o.o.", "S.A."), "SE": ("AB",), "JP": ("K.K.", "Co., Ltd."), "CA": ("Inc.", "Ltd."), "AU": ("Pty Ltd", "Pty. Ltd.")}
_CITIES = {"US": ("New York", "San Francisco", "Chicago", "Austin", "Boston", "Seattle", "Denver", "Atlanta"),
           "GB": ("London", "Manchester", "Leeds", "Bristol", "Edinburgh"), "DE": ("Berlin", "München", "Hamburg", "Köln", "Frankfurt am Main"),
           "FR": ("Paris", "Lyon", "Marseille", "Toulouse"), "NL": ("Amsterdam", "Rotterdam", "Utrecht"), "ES": ("Madrid", "Barcelona", "Valencia"),
           "BR": ("São Paulo", "Rio de Janeiro", "Curitiba"), "PL": ("Warszawa", "Kraków", "Wrocław"), "SE": ("Stockholm", "Göteborg", "Malmö"),
           "JP": ("Tokyo", "Osaka", "Yokohama"), "CA": ("Toronto", "Vancouver", "Montréal"), "AU": ("Sydney", "Melbourne", "Brisbane")}
_WORDS = ("North Blue Bright Silver Iron Cedar Summit Harbor Pioneer Vertex Quantum Apex Nimbus Atlas Orion Falcon Maple Granite "
          "Crescent Beacon Meridian Horizon Evergreen Redwood Lumen Nova Polar Stellar Copper Coral Aurora Sterling Cobalt Echo "
          "Zenith Prairie Delta Sequoia Tidal Willow Onyx Helix Kestrel Lattice Mosaic Obsidian Pinnacle Radiant Sable Trident").split()
_TRADES = ("Logistics Analytics Systems Software Labs Health Foods Energy Robotics Capital Media Consulting Manufacturing Retail "
           "Biotech Networks Security Travel Insurance Foods Freight Solar Textiles Pharma Learning Payments Motors").split()
_TITLES = ("CEO", "CTO", "CFO", "COO", "VP Engineering", "VP Sales", "Head of Data", "Data Engineer", "Data Analyst",
           "Software Engineer", "Product Manager", "Marketing Manager", "Account Executive", "Procurement Manager",
           "IT Director", "Operations Manager", "Finance Manager", "Customer Success Manager", "Controller", "Office Manager")
_STREETS = ("Market Street", "High Street", "Main Street", "Station Road", "Park Avenue", "Hauptstraße", "Rue de la Paix",
            "Calle Mayor", "Kungsgatan", "ul. Marszałkowska", "King Street", "Queen Street", "Harbour Road", "Mill Lane")
_NICK = {"Robert": ("Bob", "Rob", "Bobby"), "William": ("Bill", "Will"), "Elizabeth": ("Liz", "Beth"), "Katherine": ("Kate", "Kathy"),
         "Michael": ("Mike",), "James": ("Jim", "Jimmy"), "Richard": ("Rick", "Dick"), "Thomas": ("Tom",), "Christopher": ("Chris",),
         "Jennifer": ("Jen", "Jenny"), "Margaret": ("Maggie", "Peggy"), "Daniel": ("Dan", "Danny"), "Matthew": ("Matt",),
         "Joseph": ("Joe",), "Anthony": ("Tony",), "Andrew": ("Andy", "Drew"), "Alexander": ("Alex",), "Samuel": ("Sam",),
         "Benjamin": ("Ben",), "Nicholas": ("Nick",), "Jonathan": ("Jon",), "Patricia": ("Pat", "Trish"), "Rebecca": ("Becky",),
         "Steven": ("Steve",), "Edward": ("Ed", "Ted"), "Victoria": ("Vicky",), "Jessica": ("Jess",), "Susan": ("Sue",),
         "Deborah": ("Deb",), "Maximilian": ("Max",), "Aleksandr": ("Sasha",), "Katarzyna": ("Kasia",), "Małgorzata": ("Gosia",),
         "Wojciech": ("Wojtek",), "José": ("Pepe",), "Gregory": ("Greg",), "Stephanie": ("Steph",), "Amanda": ("Mandy",)}
_TRANSLIT = {"Dmitriy": ("Dmitry", "Dmitri"), "Sergey": ("Sergei",), "Aleksandr": ("Alexander", "Aleksander"),
             "Yevgeny": ("Evgeny", "Evgeniy"), "Natalya": ("Natalia",), "Yuliya": ("Julia", "Yulia"), "Fyodorov": ("Fedorov",),
             "Satō": ("Sato", "Satou"), "Itō": ("Ito", "Itou"), "Katō": ("Kato", "Katou"), "Yūki": ("Yuki", "Yuuki"),
             "Shōta": ("Shota", "Shouta"), "Kōji": ("Koji", "Kouji"), "Yōko": ("Yoko", "Youko"), "Ryō": ("Ryo", "Ryou")}
_GERMAN = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"})
_FLAT = str.maketrans({"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "æ": "ae", "Æ": "Ae", "ß": "ss", "đ": "d"})
_CONSUMER = (("gmail.com", 0.55), ("outlook.com", 0.12), ("yahoo.com", 0.10), ("hotmail.com", 0.08), ("icloud.com", 0.07),
             ("gmx.de", 0.04), ("web.de", 0.02), ("proton.me", 0.02))
_CONSUMER_SUFFIXES = tuple("@" + d for d, _ in _CONSUMER)
_JUNK_IDS = ("0", "unknown", "null", "00000000-0000-0000-0000-000000000000", "UNKNOWN", "")
_AUDIENCES = ("newsletter", "webinar-2024", "trial-nurture", "enterprise-abm", "churn-winback", "product-updates", "events-emea")
_NOW = datetime(2025, 6, 30, 12, 0, tzinfo=timezone.utc)
_NOW_TS = int(_NOW.timestamp())
_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


@lru_cache(maxsize=1 << 16)  # a few thousand distinct names and slugs, folded millions of times
def ascii_fold(text: str) -> str:
    """Müller -> Muller, Łukasz -> Lukasz, Søren -> Soren: what an ASCII-only system stores."""
    text = text.translate(_FLAT)
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def spellings(name: str) -> tuple[str, ...]:
    """Other ways systems spell a name: transliterations and ASCII folds."""
    out = list(_TRANSLIT.get(name, ()))
    if not name.isascii():
        german = name.translate(_GERMAN)
        folded = ascii_fold(name)
        out.extend(v for v in (german, folded) if v.isascii())
    return tuple(dict.fromkeys(v for v in out if v != name))


def _slug(text: str) -> str:
    return "".join(c for c in ascii_fold(text).lower() if c.isalnum())


def _b62(n: int, width: int) -> str:
    out = []
    for _ in range(width):
        n, r = divmod(n, 62)
        out.append(_B62[r])
    return "".join(reversed(out))


# -- phones: (country code, national number maker, national formats) --------------------


def _digits(rng: random.Random, n: int) -> str:
    return str(rng.randrange(10 ** (n - 1), 10**n)) if n > 0 else ""


def _national_number(rng: random.Random, cc: str) -> str:
    r = rng.random
    if cc in ("US", "CA"):
        area = rng.choice(("212", "415", "312", "617", "206", "512", "303", "404", "305", "646", "718", "510") if cc == "US"
                          else ("416", "604", "514", "613", "403"))
        return area + str(rng.randrange(200, 1000)) + f"{rng.randrange(10000):04d}"
    if cc == "GB":
        return "20" + _digits(rng, 8) if r() < 0.6 else "7" + str(rng.randrange(1, 10)) + _digits(rng, 8)
    if cc == "DE":
        return rng.choice(("30", "89", "40")) + _digits(rng, 8) if r() < 0.6 else "15" + str(rng.randrange(1, 8)) + _digits(rng, 8)
    if cc == "FR":
        return str(rng.randrange(1, 8)) + _digits(rng, 8)
    if cc == "NL":
        return "20" + _digits(rng, 7) if r() < 0.5 else "6" + _digits(rng, 8)
    if cc == "ES":
        return rng.choice("69") + _digits(rng, 8)
    if cc == "BR":
        return rng.choice(("11", "21", "41")) + "9" + _digits(rng, 8)
    if cc == "PL":
        return str(rng.randrange(5, 9)) + _digits(rng, 8)
    if cc == "SE":
        return "70" + _digits(rng, 7)
    if cc == "JP":
        return "3" + _digits(rng, 8) if r() < 0.5 else "90" + _digits(rng, 8)
    return rng.choice("2347") + _digits(rng, 8)  # AU


_CC = {"US": "1", "CA": "1", "GB": "44", "DE": "49", "FR": "33", "NL": "31", "ES": "34", "BR": "55", "PL": "48",
       "SE": "46", "JP": "81", "AU": "61"}


def _fmt_phone(rng: random.Random, country: str, nsn: str, national_ok: bool) -> str:
    """One of the ways people write a number; national forms only where the row says its country."""
    cc = _CC[country]
    k = rng.randrange(6) if national_ok else rng.randrange(3)
    if k == 0:
        return f"+{cc}{nsn}"
    if k == 1:
        return f"+{cc} {nsn[:3]} {nsn[3:6]} {nsn[6:]}"
    if k == 2:
        return f"00{cc} {nsn}" if country not in ("US", "CA") else f"+1-{nsn[:3]}-{nsn[3:6]}-{nsn[6:]}"
    if country in ("US", "CA"):
        return (f"({nsn[:3]}) {nsn[3:6]}-{nsn[6:]}", f"{nsn[:3]}.{nsn[3:6]}.{nsn[6:]}", f"{nsn[:3]}-{nsn[3:6]}-{nsn[6:]} x{rng.randrange(100, 999)}")[k - 3]
    if country in ("ES", "PL"):  # no trunk prefix
        return f"{nsn[:3]} {nsn[3:6]} {nsn[6:]}"
    if country == "BR":
        return f"({nsn[:2]}) {nsn[2:7]}-{nsn[7:]}"
    if country == "GB" and k == 4:
        return f"+44 (0){nsn[:2]} {nsn[2:6]} {nsn[6:]}"
    if country == "FR":
        n = "0" + nsn
        return " ".join(n[i:i + 2] for i in range(0, 10, 2))
    return f"0{nsn[:2]} {nsn[2:5]} {nsn[5:]}" if k != 5 else f"0{nsn[:3]}-{nsn[3:]}"


# -- population --------------------------------------------------------------------------


@dataclass(slots=True)
class Account:
    id: str
    name: str  # without legal form
    legal: str
    country: str
    domain: str
    pe: str
    crm_id: str
    parent: int | None
    offices: list[tuple[str, str, str]]  # (street, city, postcode)
    email_style: int
    used_locals: set[str] = field(default_factory=set)
    used_names: set[tuple[str, str]] = field(default_factory=set)


@dataclass(slots=True)
class Person:
    id: str
    account: int
    first: str
    last: str
    title: str
    corp_email: str | None
    personal_email: str | None
    alias_email: str | None
    phone: str  # national significant number
    mobile: str | None
    user_id: str | None
    devices: list[str]
    anon_id: str
    office: int
    crm_account_website: bool = True


def _postcode(rng: random.Random, cc: str) -> str:
    d = lambda n: _digits(rng, n) if n else ""  # noqa: E731
    L = lambda: rng.choice("ABCDEFGHJKLMNPRSTUWXYZ")  # noqa: E731
    if cc == "GB":
        return f"{L()}{L()}{rng.randrange(1, 20)} {rng.randrange(1, 10)}{L()}{L()}"
    if cc == "NL":
        return f"{rng.randrange(1000, 10000)} {L()}{L()}"
    if cc == "CA":
        return f"{L()}{rng.randrange(10)}{L()} {rng.randrange(10)}{L()}{rng.randrange(10)}"
    if cc == "JP":
        return f"{d(3)}-{rng.randrange(10000):04d}"
    if cc == "BR":
        return f"{d(5)}-{rng.randrange(1000):03d}"
    if cc == "SE":
        return f"{d(3)} {rng.randrange(100):02d}"
    if cc == "PL":
        return f"{rng.randrange(100):02d}-{rng.randrange(1000):03d}"
    if cc == "AU":
        return d(4)
    return f"{rng.randrange(1000, 100000):05d}"


def _weighted(rng: random.Random, pairs: tuple[tuple[str, float], ...]) -> str:
    x = rng.random() * sum(w for _, w in pairs)
    for v, w in pairs:
        x -= w
        if x <= 0:
            return v
    return pairs[-1][0]


def _make_accounts(rng: random.Random, n: int, noise: Noise) -> list[Account]:
    accounts: list[Account] = []
    used_domains: set[str] = {VENDOR_DOMAIN}
    used_names: set[str] = set()
    pe_seen: set[str] = set()

    def pe() -> str:
        while True:
            v = "PE-" + _b62(rng.getrandbits(48), 8)
            if v not in pe_seen:
                pe_seen.add(v)
                return v

    def domain_for(base: str, country: str) -> str:
        slug = _slug(base)
        for i in range(1000):
            d = (slug if i == 0 else f"{slug}{i + 1}") + rng.choice(_TLD[country])
            if d not in used_domains:
                used_domains.add(d)
                return d
        raise RuntimeError("domain space exhausted")

    def offices(country: str) -> list[tuple[str, str, str]]:
        return [(f"{rng.randrange(1, 400)} {rng.choice(_STREETS)}", rng.choice(_CITIES[country]), _postcode(rng, country))
                for _ in range(1 + (rng.random() < 0.3))]

    for i in range(n):
        country = _weighted(rng, _COUNTRIES)
        parent: int | None = None
        if accounts and rng.random() < noise.subsidiary_rate:
            parent = rng.randrange(len(accounts))
            while accounts[parent].parent is not None:
                parent = accounts[parent].parent  # type: ignore[assignment]
        if parent is not None:
            p = accounts[parent]
            region = {"DE": "Deutschland", "FR": "France", "GB": "UK", "US": "Americas", "JP": "Japan", "ES": "Iberia",
                      "BR": "Brasil", "PL": "Polska", "SE": "Nordics", "NL": "Benelux", "CA": "Canada", "AU": "Australia"}[country]
            name = f"{p.name} {region}"
            if name in used_names:
                name = f"{p.name} {region} {rng.choice(_TRADES)}"
            dom_base = f"{p.name}{region}"
        else:
            while True:
                name = f"{rng.choice(_WORDS)}{rng.choice(('', ' ', ''))}{rng.choice(_WORDS).lower() if rng.random() < 0.3 else ''}"
                name = f"{name.strip()} {rng.choice(_TRADES)}"
                if name not in used_names:
                    break
            dom_base = name if rng.random() < 0.6 else name.split(" ")[0]
        used_names.add(name)
        accounts.append(Account(
            id=f"ACC-{i + 1:06d}", name=name, legal=rng.choice(_LEGAL[country]), country=country,
            domain=domain_for(dom_base, country), pe=pe(), crm_id="001" + _b62(rng.getrandbits(80), 15),
            parent=parent, offices=offices(country), email_style=rng.randrange(4),
        ))
    return accounts


def _local_part(style: int, first: str, last: str) -> str:
    f, l = _slug(first), _slug(last)
    return (f"{f}.{l}", f"{f[:1]}{l}", f"{f}", f"{f}_{l}")[style]


def _make_persons(rng: random.Random, n: int, accounts: list[Account], noise: Noise) -> list[Person]:
    # skewed account sizes: a few large customers, a long tail of small ones
    weights = [min(rng.paretovariate(1.2), 12.0) for _ in accounts]
    chosen = rng.choices(range(len(accounts)), weights=weights, k=n)
    # every account has at least one person, so every company and hierarchy is visible
    for i in range(min(len(accounts), n)):
        chosen[i] = i
    persons: list[Person] = []
    phones: set[str] = set()
    personals: set[str] = set()
    rand = rng.random
    for i, a_idx in enumerate(chosen):
        acct = accounts[a_idx]
        lang = _LANG[acct.country] if rand() < 0.85 else rng.choice(tuple(_NAMES))
        firsts, lasts = _NAMES[lang]
        first = rng.choice(firsts.split())
        last = rng.choice(lasts.split())
        if rand() >= noise.namesake_rate:
            for _ in range(20):
                if (first, last) not in acct.used_names:
                    break
                first, last = rng.choice(firsts.split()), rng.choice(lasts.split())
        acct.used_names.add((first, last))
        consumer_only = rand() < noise.consumer_only_rate
        corp = alias = None
        if not consumer_only:
            local = _local_part(acct.email_style, first, last)
            base, k = local, 1
            while local in acct.used_locals:
                k += 1
                local = f"{base}{k}"
            acct.used_locals.add(local)
            corp = f"{local}@{acct.domain}"
            if rand() < 0.5:
                alias_local = _local_part((acct.email_style + 1) % 4, first, last)
                if alias_local not in acct.used_locals:
                    acct.used_locals.add(alias_local)
                    alias = f"{alias_local}@{acct.domain}"
        personal = None
        if consumer_only or rand() < noise.personal_email_rate:
            dom = _weighted(rng, _CONSUMER)
            while True:
                personal = f"{_slug(first)}.{_slug(last)}{rng.randrange(1, 100000)}@{dom}"
                if personal not in personals:
                    personals.add(personal)
                    break
        while True:
            phone = _national_number(rng, acct.country)
            if phone not in phones:
                phones.add(phone)
                break
        mobile = None
        if rand() < 0.3:
            mobile = _national_number(rng, acct.country)
            if mobile in phones:
                mobile = None
            else:
                phones.add(mobile)
        is_user = rand() < noise.product_user_rate
        devices = [f"{rng.getrandbits(128):032x}" for _ in range(1 + (rand() < 0.4))]
        devices = [f"{d[:8]}-{d[8:12]}-4{d[13:16]}-{d[16:20]}-{d[20:]}" for d in devices]
        persons.append(Person(
            id=f"P-{i + 1:07d}", account=a_idx, first=first, last=last, title=rng.choice(_TITLES),
            corp_email=corp, personal_email=personal, alias_email=alias, phone=phone, mobile=mobile,
            user_id=f"usr_{rng.getrandbits(56):014x}" if is_user else None, devices=devices,
            anon_id=f"anon-{rng.getrandbits(64):016x}", office=rng.randrange(len(acct.offices)),
        ))
    # households: two people using one device
    k = int(len(persons) * noise.shared_device_rate / 2)
    for _ in range(k):
        a, b = rng.randrange(len(persons)), rng.randrange(len(persons))
        if a != b:
            persons[b].devices.append(persons[a].devices[0])
    return persons


# -- record specs ------------------------------------------------------------------------


@dataclass(slots=True)
class Spec:
    """A record before rendering: which person, which evidence, which freshness."""

    source: str
    person: int
    email: str | None = None
    emails2: list[str] = field(default_factory=list)
    phone: str | None = None
    phone2: str | None = None
    user_id: str | None = None
    device: str | None = None
    anonymous: bool = False
    website: bool = False
    pe: str | None = None  # own payment entity (or the reseller's)
    hub_email: str | None = None
    weak: bool = False
    stale: bool = False
    updated: int = 0  # epoch seconds
    created: int = 0

    def strong(self) -> set[str]:
        out = set()
        for e in (self.email, *self.emails2):
            if e:
                out.add("e:" + _canon_email(e))
        for p in (self.phone, self.phone2):
            if p:
                out.add("p:" + p)
        if self.user_id:
            out.add("u:" + self.user_id)
        return out


def _canon_email(e: str) -> str:
    local, _, dom = e.lower().rpartition("@")
    if dom == "gmail.com":
        local = local.split("+", 1)[0].replace(".", "")
    return f"{local}@{dom}"


class _Builder:
    def __init__(self, rng: random.Random, noise: Noise, accounts: list[Account], persons: list[Person]) -> None:
        self.rng = rng
        self.noise = noise
        self.accounts = accounts
        self.persons = persons
        self.reseller_pe = "PE-" + _b62(rng.getrandbits(48), 8)
        self.kiosk = "7e57c0de-0000-4000-8000-" + f"{rng.getrandbits(48):012x}"

    def _new_alias(self, p: Person) -> str:
        acct = self.accounts[p.account]
        while True:
            local = f"{_slug(p.first)[:1]}{_slug(p.last)}.{self.rng.randrange(10, 100)}"
            if local not in acct.used_locals:
                acct.used_locals.add(local)
                p.alias_email = f"{local}@{acct.domain}"
                return p.alias_email

    def _email(self, p: Person, corp_bias: float) -> str | None:
        r = self.rng.random()
        if p.corp_email is None:
            return p.personal_email
        if p.personal_email and r > corp_bias:
            return p.personal_email
        return p.corp_email

    def _times(self, spec: Spec, stale: bool = False) -> None:
        rng = self.rng
        created = _NOW_TS - rng.randrange(30, 1500) * 86400 - rng.randrange(86400)
        updated = created + int((_NOW_TS - created) * rng.random())
        if stale:
            updated = created + int((_NOW_TS - created) * rng.random() * 0.3)
        spec.created, spec.updated = created, updated

    def spec(self, source: str, pi: int, stale: bool = False) -> Spec:
        rng, n, p = self.rng, self.noise, self.persons[pi]
        r = rng.random
        s = Spec(source, pi, stale=stale)
        miss = n.missing_rate
        if source == "crm":
            s.email = self._email(p, 0.85)
            if stale and p.personal_email and r() < 0.4:
                s.email = p.personal_email
            if p.personal_email and s.email != p.personal_email and r() < 0.5:
                s.emails2.append(p.personal_email)
            if p.alias_email and r() < 0.2:
                s.emails2.append(p.alias_email)
            s.phone = p.phone if r() > miss * 2 else None
            s.phone2 = p.mobile if p.mobile and r() < 0.6 else None
            s.user_id = p.user_id if p.user_id and r() < 0.3 else None
            s.website = r() > miss / 2 or p.corp_email is None
        elif source == "billing":
            if r() < n.hub_mailbox_rate:
                s.hub_email = f"billing@{VENDOR_DOMAIN}"
                s.phone = p.phone
            else:
                s.email = self._email(p, 0.80)
                s.phone = p.phone if r() > 0.4 else None
            acct = self.accounts[p.account]
            s.pe = self.reseller_pe if r() < n.reseller_rate else acct.pe
        elif source == "support":
            if r() < n.hub_mailbox_rate:
                s.hub_email = f"support@{VENDOR_DOMAIN}"
                s.phone = p.phone
            else:
                s.email = self._email(p, 0.85)
                s.phone = p.phone if r() < 0.3 else None
            s.user_id = p.user_id if p.user_id and r() < 0.5 else None
        elif source == "product":
            if r() < n.anonymous_rate:
                s.anonymous = True
                s.device = rng.choice(p.devices)
            else:
                s.user_id = p.user_id
                s.email = self._email(p, 0.9) if r() < 0.7 else None
                s.phone = p.phone if r() < 0.05 else None
                s.device = self.kiosk if r() < n.kiosk_rate else rng.choice(p.devices)
        else:  # marketing
            s.email = self._email(p, 0.55)
            if p.personal_email and s.email != p.personal_email and r() < 0.2:
                s.emails2.append(p.personal_email)
            s.phone = p.phone if r() < 0.2 else None
            s.website = r() < 0.5 and p.corp_email is not None
        if source != "product" and not s.anonymous and r() < n.weak_link_rate and p.corp_email:
            # known only by an alias on the corporate domain: name + domain + postcode link it
            s.weak = True
            s.email = p.alias_email or self._new_alias(p)
            s.emails2, s.phone, s.phone2, s.user_id, s.hub_email = [], None, None, None, None
        self._times(s, stale)
        return s

    def bridge(self, specs: list[Spec]) -> None:
        """Make every record of a multi-record person share a strong identifier with
        another of them (weak and anonymous records excepted), and give every person
        account evidence (corporate domain or own payment entity) somewhere."""
        p = self.persons[specs[0].person]
        acct = self.accounts[p.account]
        if not any(
            (s.email and not s.email.endswith(_CONSUMER_SUFFIXES)) or s.website or (s.pe == acct.pe)
            or any(not e.endswith(_CONSUMER_SUFFIXES) for e in s.emails2)
            for s in specs
        ):
            target = next((s for s in specs if s.source in ("crm", "marketing")), None)
            if target is not None:
                target.website = True
            else:
                target = next((s for s in specs if s.source == "billing"), None) or next(
                    (s for s in specs if s.hub_email is None), specs[0])
                if target.source == "billing":
                    target.pe = acct.pe
                elif p.corp_email:
                    target.email = p.corp_email
        if len(specs) < 2:
            return
        linkable = [s for s in specs if not s.weak and not s.anonymous]
        if len(linkable) < 2:
            return
        # union-find over shared strong tokens
        parent = list(range(len(linkable)))

        def find(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        owner: dict[str, int] = {}
        for i, s in enumerate(linkable):
            for t in s.strong():
                if t in owner:
                    parent[find(i)] = find(owner[t])
                else:
                    owner[t] = i
        roots = [find(i) for i in range(len(linkable))]
        main = max(set(roots), key=roots.count)
        main_i = roots.index(main)
        for i, s in enumerate(linkable):
            if find(i) == find(main_i):
                continue
            anchor = linkable[main_i]
            tokens = sorted(set().union(*(x.strong() for j, x in enumerate(linkable) if find(j) == find(main_i))))
            email = next((t[2:] for t in tokens if t.startswith("e:")), None)
            phone = next((t[2:] for t in tokens if t.startswith("p:")), None)
            uid = next((t[2:] for t in tokens if t.startswith("u:")), None)
            if s.hub_email is None and email is not None:
                # the group's address as written (not its canonical form); the old one stays as a second
                # address where the source has room for one
                written = next(e for e in (p.corp_email, p.personal_email, p.alias_email) if e and _canon_email(e) == email)
                if s.email and s.source in ("crm", "marketing"):
                    s.emails2.append(s.email)
                s.email = written
            elif phone is not None:
                s.phone = phone
            elif uid is not None and s.source in ("crm", "support", "product"):
                s.user_id = uid
            else:
                s.phone = anchor.phone = p.phone
            parent[find(i)] = find(main_i)


# -- rendering ---------------------------------------------------------------------------


class _Render:
    def __init__(self, rng: random.Random, noise: Noise, accounts: list[Account], persons: list[Person]) -> None:
        self.rng = rng
        self.noise = noise
        self.accounts = accounts
        self.persons = persons
        self.counter = 0

    def name_pair(self, p: Person) -> tuple[str, str]:
        rng, n = self.rng, self.noise
        r = rng.random
        first, last = p.first, p.last
        if r() < n.nickname_rate and first in _NICK:
            first = rng.choice(_NICK[first])
        if r() < n.transliteration_rate:
            v = spellings(first)
            if v:
                first = rng.choice(v)
            v = spellings(last)
            if v:
                last = rng.choice(v)
        if r() < n.name_typo_rate:
            if r() < 0.5:
                first = self.typo(first)
            else:
                last = self.typo(last)
        if r() < n.case_noise_rate:
            k = rng.randrange(4)
            if k == 0:
                first, last = first.upper(), last.upper()
            elif k == 1:
                first, last = first.lower(), last.lower()
            elif k == 2:
                first, last = f" {first} ", f"{last}  "
            elif first.isascii() and last.isascii():  # full-width input (NFKC folds it back)
                first = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in first)
        return first, last

    def typo(self, word: str) -> str:
        if len(word) < 4:
            return word
        rng = self.rng
        i = rng.randrange(1, len(word) - 1)
        k = rng.randrange(3)
        if k == 0:
            return word[:i] + word[i + 1] + word[i] + word[i + 2:]
        if k == 1:
            return word[:i] + word[i + 1:]
        return word[:i] + word[i] + word[i:]

    def email_text(self, e: str | None) -> str:
        if not e:
            return ""
        r = self.rng.random()
        if r < 0.05:
            return e.upper()
        if r < 0.10:
            return f" {e.capitalize()} "
        return e

    def gmail_variant(self, e: str) -> str:
        local, _, dom = e.partition("@")
        if dom != "gmail.com" or self.rng.random() > self.noise.plus_tag_rate:
            return e
        if self.rng.random() < 0.5:
            return f"{local}+{self.rng.choice(('news', 'promo', 'webinar', 'work'))}@{dom}"
        return f"{local.replace('.', '')}@{dom}"

    def phone_text(self, p: Person, nsn: str | None, national_ok: bool) -> str:
        if not nsn:
            return ""
        return _fmt_phone(self.rng, self.accounts[p.account].country, nsn, national_ok)

    def opt(self, value: str) -> str:
        return "" if self.rng.random() < self.noise.missing_rate else value

    def company(self, a: Account) -> str:
        r = self.rng.random()
        if r < 0.45:
            return f"{a.name} {a.legal}"
        if r < 0.55:
            return f"{a.name}, {a.legal}"
        if r < 0.60:
            return f"{a.name} {a.legal}".upper()
        return a.name


def _iso(ts: int, style: str) -> str:
    dt = datetime.fromtimestamp(ts, tz=timezone.utc)
    if style == "sf":
        return dt.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    if style == "z":
        return dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    if style == "ms":
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts % 1000:03d}Z"
    return dt.strftime("%d/%m/%Y %H:%M")


_CRM_HEADER = ["Id", "FirstName", "LastName", "Email", "Secondary_Emails__c", "Phone", "MobilePhone", "Title", "AccountId",
               "Account_Name", "Account_Website", "MailingStreet", "MailingCity", "MailingPostalCode", "MailingCountry",
               "LeadSource", "Status__c", "App_User_Id__c", "CreatedDate", "LastModifiedDate"]
_BILLING_HEADER = ["customer_id", "contact_name", "email", "phone", "company_name", "payment_entity_id",
                   "parent_payment_entity_id", "vat_number", "address_line1", "postal_code", "city", "country", "status",
                   "currency", "created", "updated"]
_SUPPORT_HEADER = ["id", "name", "email", "phone", "organization", "external_id", "role", "locale", "tags", "ticket_count",
                   "created_at", "updated_at"]


def generate(out_dir: str | Path, records: int = 10_000, seed: int = 42, noise: Noise | None = None) -> GenerateResult:
    """Write the five sample sources, truth.csv and accounts.csv into `out_dir`."""
    started = time.perf_counter()
    if records < 10:
        raise ValueError(f"records must be at least 10, got {records}")
    noise = noise or Noise()
    rng = random.Random(seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    mix = dict(noise.mix)
    total_w = sum(mix.values())
    quotas = {s: int(round(records * mix.get(s, 0) / total_w)) for s in SOURCES}
    quotas["crm"] += records - sum(quotas.values())
    bad = {s: int(quotas[s] * noise.bad_row_rate) for s in SOURCES}
    good = {s: quotas[s] - bad[s] for s in SOURCES}

    n_persons = max(2, int(records / noise.records_per_person))
    n_accounts = max(2, int(n_persons / noise.people_per_account))
    accounts = _make_accounts(rng, n_accounts, noise)
    persons = _make_persons(rng, n_persons, accounts, noise)
    builder = _Builder(rng, noise, accounts, persons)

    # who appears where: consumer-only people and hierarchy members are placed first
    by_person: dict[int, list[Spec]] = defaultdict(list)
    order = list(range(n_persons))
    rng.shuffle(order)
    n_stale = int(good["crm"] * noise.stale_duplicate_rate / (1 + noise.stale_duplicate_rate))
    crm_people = good["crm"] - n_stale
    consumer = [i for i in order if persons[i].corp_email is None]
    rest = [i for i in order if persons[i].corp_email is not None]
    crm_pick = (consumer + rest)[:crm_people]
    for i in crm_pick:
        by_person[i].append(builder.spec("crm", i))
    for i in rng.sample(crm_pick, min(n_stale, len(crm_pick))):
        by_person[i].append(builder.spec("crm", i, stale=True))
    # billing: one contact of every parent and subsidiary company first
    first_of: dict[int, int] = {}
    for i in order:
        first_of.setdefault(persons[i].account, i)
    in_hierarchy = {a.parent for a in accounts if a.parent is not None} | {i for i, a in enumerate(accounts) if a.parent is not None}
    billing_pick = [first_of[a] for a in sorted(in_hierarchy) if a in first_of]
    chosen = set(billing_pick)
    for i in rng.sample(order, len(order)):
        if len(billing_pick) >= good["billing"]:
            break
        if i not in chosen:
            billing_pick.append(i)
            chosen.add(i)
    for i in billing_pick[: good["billing"]]:
        spec = builder.spec("billing", i)
        if accounts[persons[i].account].parent is not None or persons[i].account in in_hierarchy:
            spec.pe = accounts[persons[i].account].pe  # hierarchy members pay for themselves
        by_person[i].append(spec)
    for i in rng.sample(order, min(good["support"], len(order))):
        by_person[i].append(builder.spec("support", i))
    for i in rng.sample(order, min(good["marketing"], len(order))):
        by_person[i].append(builder.spec("marketing", i))
    users = [i for i in order if persons[i].user_id]
    rng.shuffle(users)
    events: dict[int, int] = {}
    remaining = good["product"]
    for i in users:
        if remaining <= 0:
            break
        events[i] = 1
        remaining -= 1
    while remaining > 0 and users:
        i = users[rng.randrange(len(users))]
        if i in events and events[i] < noise.max_events:
            events[i] += 1
            remaining -= 1
        elif i not in events:
            events[i] = 1
            remaining -= 1
    for i, k in events.items():
        for _ in range(k):
            by_person[i].append(builder.spec("product", i))
    for specs in by_person.values():
        builder.bridge(specs)

    render = _Render(rng, noise, accounts, persons)
    rows: dict[str, list] = {s: [] for s in SOURCES}
    truth: list[tuple[str, str, str, str]] = []
    all_specs = [s for pi in sorted(by_person) for s in by_person[pi]]
    rng.shuffle(all_specs)
    all_specs.sort(key=lambda s: s.created)  # exports list rows in creation order
    writers = {"crm": _row_crm, "billing": _row_billing, "support": _row_support, "product": _row_product, "marketing": _row_marketing}
    for idx, spec in enumerate(all_specs):
        sid, row = writers[spec.source](render, spec, idx)
        rows[spec.source].append(row)
        p = persons[spec.person]
        truth.append((spec.source, sid, p.id, accounts[p.account].id))

    bad_written = _add_bad_rows(rng, rows, bad)
    files = _write(out, rows)
    truth_path = out / "truth.csv"
    with truth_path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(TRUTH_COLUMNS)
        w.writerows(truth)
    accounts_path = out / "accounts.csv"
    with accounts_path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(ACCOUNT_COLUMNS)
        for a in accounts:
            w.writerow((a.id, accounts[a.parent].id if a.parent is not None else "", f"{a.name} {a.legal}", a.domain, a.pe, a.country))
    return GenerateResult(
        out_dir=out, files=files, counts={s: len(rows[s]) for s in SOURCES}, bad_rows=bad_written,
        persons=len({s.person for s in all_specs}), accounts=len(accounts), truth=truth_path,
        accounts_file=accounts_path, elapsed=time.perf_counter() - started, seed=seed, noise=asdict(noise),
    )


# -- per-source rows ---------------------------------------------------------------------


def _row_crm(r: _Render, s: Spec, idx: int) -> tuple[str, list[str]]:
    p = r.persons[s.person]
    a = r.accounts[p.account]
    rng = r.rng
    sid = "0035g" + _b62(idx * 2654435761 % 62**10, 10)
    first, last = r.name_pair(p)
    street, city, postcode = a.offices[p.office]
    country = rng.choice(_COUNTRY_NAMES[a.country])
    title = p.title if not s.stale else rng.choice(_TITLES)
    row = [
        sid, first if s.weak else r.opt(first), last, r.email_text(s.email), ";".join(s.emails2),
        r.phone_text(p, s.phone, True), r.phone_text(p, s.phone2, True), r.opt(title), a.crm_id, r.company(a),
        (rng.choice(("https://www.", "http://", "www.", "")) + a.domain + rng.choice(("", "/", "/about"))) if s.website else "",
        r.opt(street), r.opt(city), postcode if s.weak else r.opt(postcode), country,
        rng.choice(("Web", "Event", "Partner", "Outbound", "Referral")), rng.choice(("Active", "Active", "Inactive", "Prospect")),
        s.user_id or "", _iso(s.created, "sf"), _iso(s.updated, "sf"),
    ]
    return sid, row


def _row_billing(r: _Render, s: Spec, idx: int) -> tuple[str, list[str]]:
    p = r.persons[s.person]
    a = r.accounts[p.account]
    rng = r.rng
    sid = "cus_" + _b62(idx * 40503 % 62**14 + 62**13, 14)
    first, last = r.name_pair(p)
    name = f"{last}, {first}" if rng.random() < 0.15 else f"{first} {last}"
    street, city, postcode = a.offices[p.office]
    parent_pe = ""
    if s.pe == a.pe and a.parent is not None:
        parent_pe = r.accounts[a.parent].pe
    row = [
        sid, name, r.email_text(s.hub_email or s.email), r.phone_text(p, s.phone, True), r.company(a), s.pe or "",
        parent_pe, f"{a.country}{rng.randrange(10**8, 10**9)}" if rng.random() < 0.4 else "", street, postcode,
        city, a.country if rng.random() < 0.8 else rng.choice(_COUNTRY_NAMES[a.country]),
        rng.choice(("active", "active", "active", "past_due", "canceled")), rng.choice(("USD", "EUR", "GBP")),
        str(s.created), str(s.updated),
    ]
    return sid, row


def _row_support(r: _Render, s: Spec, idx: int) -> tuple[str, list[str]]:
    p = r.persons[s.person]
    a = r.accounts[p.account]
    rng = r.rng
    sid = str(360000000000 + idx * 7919)
    first, last = r.name_pair(p)
    ext = s.user_id or (rng.choice(_JUNK_IDS) if rng.random() < r.noise.junk_id_rate else "")
    row = [
        sid, f"{first} {last}", r.email_text(s.hub_email or s.email), r.phone_text(p, s.phone, a.country == "US"),
        r.opt(r.company(a)) if rng.random() < 0.7 else "", ext, "end-user",
        rng.choice(("en-US", "en-GB", "de", "fr", "es", "ja", "pl", "sv")),
        " ".join(rng.sample(("billing", "bug", "howto", "sso", "api", "urgent", "feature-request"), rng.randrange(0, 3))),
        str(rng.randrange(1, 40)), _iso(s.created, "z"), _iso(s.updated, "z"),
    ]
    return sid, row


def _row_product(r: _Render, s: Spec, idx: int) -> tuple[str, dict]:
    p = r.persons[s.person]
    a = r.accounts[p.account]
    rng = r.rng
    h = f"{(idx + 1) * 0x9E3779B97F4A7C15F39CC0605CEDC835 % 2**128:032x}"
    sid = f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"
    device = s.device
    if device and rng.random() < r.noise.junk_id_rate:
        device = rng.choice(_JUNK_IDS[:4])
    row: dict = {"messageId": sid, "type": "identify", "userId": None if s.anonymous else s.user_id,
                 "anonymousId": p.anon_id,
                 "context": {"device": {"id": device}, "os": {"name": rng.choice(("iOS", "Android", "macOS", "Windows", "Linux"))}},
                 "timestamp": _iso(s.updated, "ms")}
    if not s.anonymous:
        first, last = r.name_pair(p)
        traits: dict = {}
        if rng.random() < 0.6:
            traits["first_name"], traits["last_name"] = first, last
        if s.email:
            traits["email"] = r.email_text(s.email)
        if s.phone:
            traits["phone"] = r.phone_text(p, s.phone, False)
        if rng.random() < 0.4:
            traits["company"] = {"name": r.company(a)}
        if rng.random() < 0.2:
            traits["title"] = p.title
        traits["plan"] = rng.choice(("free", "team", "business", "enterprise"))
        row["traits"] = traits
    return sid, row


def _row_marketing(r: _Render, s: Spec, idx: int) -> tuple[str, dict]:
    p = r.persons[s.person]
    a = r.accounts[p.account]
    rng = r.rng
    sid = f"L-{1000000 + idx * 13}"
    first, last = r.name_pair(p)
    emails = [r.email_text(r.gmail_variant(e)) for e in ([s.email] if s.email else []) + s.emails2]
    _, _, postcode = a.offices[p.office]
    row: dict = {"lead_id": sid, "emails": emails, "first_name": first, "last_name": last}
    if rng.random() > r.noise.missing_rate or s.weak:
        row["company"] = r.company(a)
    if rng.random() < 0.5:
        row["job_title"] = p.title
    if s.website:
        row["website"] = rng.choice(("https://", "", "www.")) + a.domain
    if s.phone:
        row["phone"] = r.phone_text(p, s.phone, True)
    row["country"] = rng.choice(_COUNTRY_NAMES[a.country])
    if rng.random() < 0.7 or s.weak:
        row["postal_code"] = postcode.lower() if rng.random() < 0.2 else postcode
    row["status"] = rng.choice(("subscribed", "subscribed", "unsubscribed", "bounced"))
    row["audiences"] = rng.sample(_AUDIENCES, rng.randrange(0, 3))
    row["created_at"], row["updated_at"] = _iso(s.created, "dmy"), _iso(s.updated, "dmy")
    return sid, row


def _add_bad_rows(rng: random.Random, rows: dict[str, list], bad: dict[str, int]) -> dict[str, int]:
    """Rows the loader must quarantine, one kind per source, mixed into the file."""
    out = {}
    for source, n in bad.items():
        src = rows[source]
        made = 0
        for k in range(n):
            if not src:
                break
            base = src[rng.randrange(len(src))]
            kind = k % 3
            if isinstance(base, list):
                row = list(base)
                if source == "crm":
                    if kind == 0:
                        row[0] = ""  # missing id
                    elif kind == 1:
                        row[0] += "X"
                        row[19] = "last tuesday"  # bad timestamp
                    else:
                        row[7] = (row[7] or "Analyst") + " (updated)"  # same id, different content
                elif source == "billing":
                    row[0] += "x"
                    row[5] = ("", "0", "unknown")[kind]  # payment entity missing or junk
                else:  # support
                    row[0] += "9"
                    row[9] = ("n/a", "many", "3.5")[kind]  # ticket_count is an int column
            else:
                row = dict(base)
                if kind == 0:
                    row = json.dumps(row, ensure_ascii=False)[:-7]  # truncated line
                elif kind == 1:
                    idk = "messageId" if source == "product" else "lead_id"
                    row[idk] = None  # missing id
                else:
                    idk = "messageId" if source == "product" else "lead_id"
                    row[idk] = str(row[idk]) + "-bad"
                    row["timestamp" if source == "product" else "updated_at"] = "2024-13-45"
            src.insert(rng.randrange(1, len(src) + 1), row)  # never first: the file must stay loadable
            made += 1
        out[source] = made
    return out


def _write(out: Path, rows: dict[str, list]) -> dict[str, Path]:
    files = {}
    headers = {"crm": _CRM_HEADER, "billing": _BILLING_HEADER, "support": _SUPPORT_HEADER}
    for source in SOURCES:
        path = out / FILES[source]
        files[source] = path
        with path.open("w", newline="", encoding="utf-8") as fh:
            if source in headers:
                w = csv.writer(fh)
                w.writerow(headers[source])
                w.writerows(rows[source])
            else:
                dumps = json.dumps
                fh.writelines((r if isinstance(r, str) else dumps(r, ensure_ascii=False)) + "\n" for r in rows[source])
    return files
