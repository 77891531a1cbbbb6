"""Every normalization rule in `loaders/normalize.py`, one group of tests per rule."""

from __future__ import annotations

import re
import sys
from datetime import datetime, timezone

import phonenumbers
from phonenumbers.phonemetadata import PhoneMetadata
import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from loaders import normalize as N
from loaders.mapping import sample_mapping

GMAIL = N.NormalizeConfig(
    email_strip_plus=frozenset({"gmail.com"}),
    email_strip_dots=frozenset({"gmail.com"}),
    email_domain_aliases={"googlemail.com": "gmail.com"},
)


# -- clean / name / company ------------------------------------------------------------


def test_clean_trims_and_collapses_whitespace() -> None:
    assert N.clean("  a \t b\n c  ") == "a b c"
    assert N.clean(None) == ""
    assert N.clean(12) == "12"


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.one_of(st.characters(), st.sampled_from(" \t\n\r\x0b\x0c\x1c\x85\xa0\u2028\u3000\u200b"))))
def test_clean_equals_the_whitespace_regex(text: str) -> None:
    assert N.clean(text) == re.sub(r"\s+", " ", text).strip()


def test_whitespace_regex_and_str_split_agree_on_every_code_point() -> None:
    ws = re.compile(r"\s")
    assert [c for c in map(chr, range(sys.maxunicode + 1)) if bool(ws.fullmatch(c)) != c.isspace()] == []


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Jane   DOE ", "jane doe"),
        ("ＪＯＨＮ", "john"),  # full-width letters fold (NFKC)
        ("Straße", "strasse"),  # casefold, not lower()
        ("ﬁona", "fiona"),  # ligature folds (NFKC)
        ("Müller", "müller"),  # accents stay: comparisons decide about them
        ("Jane\u00a0Doe", "jane doe"),  # no-break space is whitespace
    ],
)
def test_name_nfkc_casefold_whitespace(raw: str, expected: str) -> None:
    assert N.name(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ACME, Inc.", "acme"),
        ("The Acme Company", "acme"),
        ("Acme Holdings Ltd", "acme"),
        ("Müller & Söhne GmbH", "müller & söhne"),
        ("GmbH", "gmbh"),  # a name that is only a legal form is kept
        ("The", "the"),
    ],
)
def test_company_strips_legal_forms_and_punctuation(raw: str, expected: str) -> None:
    assert N.company(raw) == expected


def test_postcode_uppercase_without_spaces() -> None:
    assert N.postcode("sw1a 1aa") == "SW1A1AA"
    assert N.postcode(" 10115 ") == "10115"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("DE", "DE"), ("deu", "DE"), ("Germany", "DE"), ("Deutschland", "DE"), ("UK", "GB"), ("United Kingdom", "GB"),
     ("Korea, Republic of", "KR"), ("usa", "US")],
)
def test_country_to_iso_alpha2(raw: str, expected: str) -> None:
    assert N.country(raw) == expected


def test_country_unknown_raises() -> None:
    with pytest.raises(N.NormalizationError, match="unknown country 'Atlantis'"):
        N.country("Atlantis")


# -- email -----------------------------------------------------------------------------


def test_email_trims_and_lowercases() -> None:
    assert N.email("  Jane.Doe@ACME.com ") == "jane.doe@acme.com"


def test_email_unwraps_mailto_and_angle_brackets() -> None:
    assert N.email("mailto:jane@acme.com") == "jane@acme.com"
    assert N.email("<Jane@Acme.com>") == "jane@acme.com"


def test_email_provider_tricks_only_where_configured() -> None:
    assert N.email("J.Doe+news@gmail.com") == "j.doe+news@gmail.com"  # default: nothing stripped
    assert N.email("J.Doe+news@gmail.com", GMAIL) == "jdoe@gmail.com"
    assert N.email("j.doe+news@googlemail.com", GMAIL) == "jdoe@gmail.com"  # alias first, then tricks
    assert N.email("j.doe+news@acme.com", GMAIL) == "j.doe+news@acme.com"  # other domains untouched


@pytest.mark.parametrize("raw", ["not an email", "jane@", "@acme.com", "jane@acme", "jane@@acme.com", "a b@acme.com"])
def test_email_malformed_raises(raw: str) -> None:
    with pytest.raises(N.NormalizationError, match="malformed email"):
        N.email(raw)


def test_email_empty_raises() -> None:
    with pytest.raises(N.NormalizationError, match="empty email"):
        N.email("   ")


def test_email_international_domain_goes_through_the_library() -> None:
    assert N.email("Jane@Bücher.de") == "jane@bücher.de"


_atom = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_%+'=-", min_size=1, max_size=12)
_label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)


@settings(max_examples=300, deadline=None)
@given(
    local=st.lists(_atom, min_size=1, max_size=3).map(".".join),
    labels=st.lists(_label, min_size=1, max_size=3),
    tld=st.from_regex(r"[a-z]{2,6}", fullmatch=True),
)
def test_email_fast_path_agrees_with_email_validator(local: str, labels: list[str], tld: str) -> None:
    """The regex shortcut in `_valid_email` must never accept what the library rejects."""
    address = f"{local}@{'.'.join(labels)}.{tld}"
    try:
        expected = validate_email(address, check_deliverability=False, allow_smtputf8=True).normalized.lower()
    except EmailNotValidError:
        with pytest.raises(N.NormalizationError):
            N._valid_email.__wrapped__(address)
        return
    assert N._valid_email.__wrapped__(address) == expected


# -- domains ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://www.shop.acme.co.uk/about", "acme.co.uk"),  # public-suffix aware
        ("acme.com", "acme.com"),
        ("WWW.Acme.COM.", "acme.com"),
        ("http://acme.com:8080/x?y=1", "acme.com"),
        ("jane@mail.example.com.au", "example.com.au"),
        ("user@host.acme.io/path", "acme.io"),
    ],
)
def test_registrable_domain(raw: str, expected: str) -> None:
    assert N.registrable_domain(raw) == expected


@pytest.mark.parametrize("raw", ["192.168.0.1", "co.uk", "localhost", "", "http://"])
def test_registrable_domain_rejects_non_domains(raw: str) -> None:
    with pytest.raises(N.NormalizationError):
        N.registrable_domain(raw)


def test_consumer_domains_are_never_account_evidence() -> None:
    for d in ("gmail.com", "outlook.com", "yahoo.co.uk", "web.de"):
        assert not N.is_account_domain(d)
    assert N.is_account_domain("acme.com")
    crm = sample_mapping("crm").norm_config
    assert not N.is_account_domain("brightwave.io", crm)  # mapping extends the list
    assert N.is_account_domain("brightwave.io")  # ...only for that source


# -- phones ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("(415) 555-0123", "US", "+14155550123"),
        ("415.555.0123", "US", "+14155550123"),
        ("+1 415 555 0123", None, "+14155550123"),
        ("020 7946 0958", "GB", "+442079460958"),  # national format read in the region
        ("+44 (0)20 7946 0958", "US", "+442079460958"),  # trunk (0) dropped, +CC wins over region
        ("0049 30 12345678", "US", "+493012345678"),  # 00 international prefix
        ("+1 415 555 0123 ext. 22", "US", "+14155550123"),  # extension dropped
    ],
)
def test_phone_to_e164(raw: str, region: str | None, expected: str) -> None:
    assert N.phone(raw, region) == expected


@pytest.mark.parametrize(("raw", "reason"), [("12", "impossible phone"), ("call me", "unparsable phone"), ("  ", "empty phone")])
def test_phone_rejects(raw: str, reason: str) -> None:
    with pytest.raises(N.NormalizationError, match=reason):
        N.phone(raw, "US")


# -- opaque IDs ------------------------------------------------------------------------


@pytest.mark.parametrize("junk", ["0", "-1", "unknown", "UNKNOWN", " N/A ", "null", "None", "", "  ",
                                  "00000000-0000-0000-0000-000000000000"])
def test_opaque_id_junk_is_missing(junk: str) -> None:
    assert N.opaque_id(junk) is None


def test_opaque_id_keeps_case_but_lowercases_uuids() -> None:
    assert N.opaque_id("  AbC-12 ") == "AbC-12"
    assert N.opaque_id("6F9619FF-8B86-D011-B42D-00C04FC964FF") == "6f9619ff-8b86-d011-b42d-00c04fc964ff"


def test_opaque_id_junk_list_extends_per_source() -> None:
    product = sample_mapping("product").norm_config
    assert N.opaque_id("FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF", product) is None
    assert N.opaque_id("FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF") == "ffffffff-ffff-ffff-ffff-ffffffffffff"


# -- timestamps and multi-valued cells -------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "fmt", "expected"),
    [
        ("2024-03-01T10:22:00.000+0000", None, "2024-03-01T10:22:00+00:00"),
        ("2024-03-01T12:22:00+02:00", None, "2024-03-01T10:22:00+00:00"),  # converted to UTC
        ("2024-03-01 10:22", None, "2024-03-01T10:22:00+00:00"),  # naive is UTC
        ("1700000000", None, "2023-11-14T22:13:20+00:00"),  # epoch seconds
        ("1700000000000", None, "2023-11-14T22:13:20+00:00"),  # epoch milliseconds
        ("31/12/2024 17:05", "%d/%m/%Y %H:%M", "2024-12-31T17:05:00+00:00"),
    ],
)
def test_timestamp(raw: str, fmt: str | None, expected: str) -> None:
    assert N.timestamp(raw, fmt) == expected


@pytest.mark.parametrize(
    ("raw", "fmt"),
    [("last tuesday", None), ("2024-13-45", None), ("2024-12-31", "%d/%m/%Y"),
     ("0001-01-01T00:00:00+01:00", None), ("9999-12-31T23:59:00-01:00", None)],  # UTC form out of range
)
def test_timestamp_rejects(raw: str, fmt: str | None) -> None:
    with pytest.raises(N.NormalizationError, match="bad timestamp"):
        N.timestamp(raw, fmt)


def test_split_multi() -> None:
    assert N.split_multi("a; b;;c ", ";") == ["a", "b", "c"]
    assert N.split_multi(["x", " ", None, " y "], ";") == ["x", "y"]
    assert N.split_multi(None, ";") == []


# -- timestamps in a fixed-width strptime format -------------------------------------------

_DIRECTIVES = ["%Y", "%m", "%d", "%H", "%M", "%S"]
_SEPARATORS = ["/", "-", ":", " ", "T", ".", "_", "h"]


@st.composite
def _format_and_text(draw: st.DrawFn) -> tuple[str, str]:
    codes = draw(st.lists(st.sampled_from(_DIRECTIVES), min_size=1, max_size=6, unique=True))
    fmt, text = "", ""
    for i, code in enumerate(codes):
        if i:
            sep = draw(st.sampled_from(_SEPARATORS))
            fmt, text = fmt + sep, text + sep
        fmt += code
        width = 4 if code == "%Y" else 2
        text += draw(st.one_of(
            st.text(alphabet="0123456789", min_size=width, max_size=width),  # any digits: 00, 31, 99...
            st.text(alphabet="0123456789 ٢x", min_size=1, max_size=width + 1),  # wrong widths, other digits
        ))
    return fmt, draw(st.sampled_from([text, " " + text, text + "x", text.upper()]))


def _by_strptime(text: str, fmt: str) -> str:
    try:
        dt = datetime.strptime(N.clean(text), fmt)
    except ValueError:
        return "error"
    return dt.replace(tzinfo=timezone.utc).isoformat(timespec="seconds")


@settings(max_examples=2000, deadline=None)
@given(_format_and_text())
def test_fixed_width_timestamps_equal_strptime(case: tuple[str, str]) -> None:
    fmt, text = case
    try:
        got = N.timestamp(text, fmt)
    except N.NormalizationError:
        got = "error"
    assert got == _by_strptime(text, fmt)


def test_fixed_width_fast_path_covers_the_shipped_format_only() -> None:
    assert N._fixed_width("%d/%m/%Y %H:%M") is not None
    assert N.timestamp("22/05/2021 12:36", "%d/%m/%Y %H:%M") == "2021-05-22T12:36:00+00:00"
    for fmt in ("%d%m%Y", "%b %d %Y", "%Y-%m-%d 2%H", "%%%Y", "%d/%d"):
        assert N._fixed_width(fmt) is None


# -- ISO-8601 timestamps already in UTC ----------------------------------------------------

_DIGITS = st.text(alphabet="0123456789", min_size=2, max_size=2)


@st.composite
def _iso_texts(draw: st.DrawFn) -> str:
    """Text close to what `_ISO_UTC` takes: any digits (month 13, day 31 of February, hour
    24...), fractions of 0-8 digits, "." or ",", zero and non-zero offsets in every
    spelling, other separators and non-ASCII digits now and then."""
    year = draw(st.sampled_from(["2024", "1999", "0001", "9999", "0000", "2O24", "202"]))
    date = f"{year}-{draw(_DIGITS)}-{draw(_DIGITS)}"
    time = f"{draw(_DIGITS)}:{draw(_DIGITS)}:{draw(_DIGITS)}"
    sep = draw(st.sampled_from(["T", "T", " ", "t"]))
    frac = draw(st.one_of(st.just(""), st.builds(lambda mark, digits: mark + digits, st.sampled_from([".", ","]),
                                                 st.text(alphabet="0123456789", min_size=0, max_size=8))))
    offset = draw(st.sampled_from(["", "Z", "z", "+00:00", "-00:00", "+0000", "-0000", "+00", "+01:00", "-05:30",
                                   "+14:00", "+00:01", "+23:59", "+24:00"]))
    text = date + sep + time + frac + offset
    return draw(st.sampled_from([text, " " + text + " ", text.replace("1", "١"), text[:-1], text + "0"]))


def _by_fromisoformat(text: str) -> str:
    """What `timestamp` gave before its fast path: fromisoformat, naive as UTC, to UTC."""
    try:
        dt = datetime.fromisoformat(N.clean(text))
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=timezone.utc)
        return dt.astimezone(timezone.utc).isoformat(timespec="seconds")
    except (ValueError, OverflowError):  # OverflowError: the UTC form is before year 1 or after 9999
        return "error"


@settings(max_examples=3000, deadline=None)
@given(_iso_texts())
def test_iso_utc_fast_path_equals_fromisoformat(text: str) -> None:
    try:
        got = N.timestamp(text)
    except N.NormalizationError:
        got = "error"
    assert got == _by_fromisoformat(text)


def test_iso_utc_fast_path_takes_the_sample_forms() -> None:
    for text in ("2021-05-22T12:02:09.000+0000", "2021-05-22T14:12:50Z", "2023-07-23T20:28:44.124Z"):
        assert N._ISO_UTC.fullmatch(text)
        assert N.timestamp(text) == _by_fromisoformat(text) == text[:19] + "+00:00"
    assert not N._ISO_UTC.fullmatch("2024-03-01T12:22:00+02:00")  # converted to UTC by the general path
    assert N.timestamp("2024-03-01T12:22:00+02:00") == "2024-03-01T10:22:00+00:00"


# -- the phone fast paths (international and national) ---------------------------------

_COUNTRY_CODES = sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)


def _agrees_with_the_library(text: str, region: str | None) -> None:
    """`_phone`, fast paths included, gives what phonenumbers gives for the same text: the
    same E.164, or the same refusal (impossible or unparsable)."""
    library_text = "+" + text[2:] if text.startswith("00") else text  # as _phone reads a 00 prefix
    try:
        expected = phonenumbers.parse(library_text, region)
        expected_e164 = (
            phonenumbers.format_number(expected, phonenumbers.PhoneNumberFormat.E164)
            if phonenumbers.is_possible_number(expected) else "impossible"
        )
    except phonenumbers.NumberParseException:
        expected_e164 = "unparsable"
    try:
        got = N._phone.__wrapped__(text, region)
    except N.NormalizationError as exc:
        got = "impossible" if "impossible" in str(exc) else "unparsable"
    assert got == expected_e164


# what may follow a number: nothing, or an extension as phonenumbers reads one (x and 1-9
# digits), too long (10 digits), empty, in capitals, or after other text
_EXTENSIONS = st.one_of(
    st.just(""), st.just(""),
    st.builds(lambda mark, digits: mark + digits, st.sampled_from(["x", "x", "X", "xx", "ext", "x#"]),
              st.text(alphabet="0123456789", min_size=0, max_size=10)),
)


@settings(max_examples=3000, deadline=None)
@given(
    st.one_of(
        st.builds(lambda cc, rest, ext: f"+{cc}{rest}{ext}", st.sampled_from(_COUNTRY_CODES),
                  st.text(alphabet="0123456789", max_size=15), _EXTENSIONS),
        st.text(alphabet="+0123456789 ٣-x", max_size=20),
    )
)
def test_international_fast_path_equals_phonenumbers_parse(text: str) -> None:
    fast = N._parsed_fast(text, None)
    if fast is not None:
        assert fast == phonenumbers.parse(text, None)
    _agrees_with_the_library(text, None)


_REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)


def _national_prefixes() -> list[str]:
    """Digits that start a national prefix somewhere (0, 1, 8, 06, 1831, 180020, ...), taken
    from the regions' own patterns, so each region is drawn with others' prefixes too."""
    found = {"0", "1", "00", "011", "8", "06"}
    for region in phonenumbers.SUPPORTED_REGIONS:
        pattern = PhoneMetadata.metadata_for_region(region).national_prefix_for_parsing or ""
        found.update(re.findall(r"(?<![\\\[{])[0-9]{1,6}", pattern))
    return sorted(found)


_PREFIXES = _national_prefixes()


@settings(max_examples=4000, deadline=None)
@given(
    st.sampled_from(_REGIONS),
    st.one_of(
        st.text(alphabet="0123456789", min_size=1, max_size=18),
        st.builds(lambda a, b, ext: a + b + ext, st.sampled_from(["1", "2", "4", "5", "7", "8", "9", "011", "00", "0"]),
                  st.text(alphabet="0123456789", min_size=3, max_size=12), _EXTENSIONS),
        st.builds(lambda a, b, ext: a + b + ext, st.sampled_from(_PREFIXES),
                  st.text(alphabet="0123456789", min_size=1, max_size=14), _EXTENSIONS),
    ),
)
def test_national_fast_path_equals_phonenumbers_parse(region: str, text: str) -> None:
    fast = N._parsed_fast(text, region.lower())
    if fast is not None:
        assert fast == phonenumbers.parse(text, region)
    _agrees_with_the_library(text, region)


_STRIPPING = sorted(r for r in _REGIONS if PhoneMetadata.metadata_for_region(r).national_prefix_for_parsing)


@settings(max_examples=3000, deadline=None)
@given(st.data())
def test_national_prefix_fast_path_equals_phonenumbers_parse(data: st.DataObject) -> None:
    """Every region that strips a national prefix, with numbers that start with one of its own
    prefix's matches (and a plausible length), so the stripping branch is taken often."""
    region = data.draw(st.sampled_from(_STRIPPING))
    meta = PhoneMetadata.metadata_for_region(region)
    lengths = [n for n in meta.general_desc.possible_length if n > 0] or [9]
    prefix = data.draw(st.sampled_from([p for p in _PREFIXES if re.match(meta.national_prefix_for_parsing, p)] or ["0"]))
    body = data.draw(st.text(alphabet="0123456789", min_size=max(1, min(lengths) - 1), max_size=max(lengths) + 1))
    text = prefix + body + data.draw(_EXTENSIONS)
    fast = N._parsed_fast(text, region)
    if fast is not None:
        assert fast == phonenumbers.parse(text, region)
    _agrees_with_the_library(text, region)


def test_national_fast_path_takes_the_common_forms_and_leaves_the_rest() -> None:
    assert N._parsed_national("4155550123", "us") is not None
    assert N._parsed_national("2081274606", "GB") is not None
    assert N._parsed_national("14155550123", "US") is None  # starts with the country code: parse may strip it
    assert N._parsed_national("02081274606", "GB") == phonenumbers.parse("02081274606", "GB")  # prefix stripped
    assert N._parsed_fast("5106634629x918", "US") == phonenumbers.parse("5106634629x918", "US")  # extension kept
    for text, region in (("0612345678", "NL"), ("0412345678", "AU"), ("0312345678", "JP"), ("030123456", "DE")):
        assert N._parsed_national(text, region) == phonenumbers.parse(text, region)
    assert N._parsed_national("0000123456", "GB") is None  # a zero left after the prefix: parse keeps it
    assert N._parsed_national("01144208127", "US") is None  # international dialling prefix
    assert N._parsed_national("4155550123", "XX") is None  # not a region: parse reports it
    assert N.phone("(415) 555-0123", "US") == "+14155550123"


def test_international_fast_path_takes_the_common_forms_and_leaves_the_rest() -> None:
    assert N._parsed_international("+442081274606") is not None
    assert N._parsed_international("+14155550123") is not None
    assert N._parsed_international("+4402081274606") is None  # a national prefix after the code: parse strips it
    assert N._parsed_international("+390612345678") is None  # Italian leading zero: parse keeps it
    assert N.phone("+44 (0)20 8127 4606") == "+442081274606"
