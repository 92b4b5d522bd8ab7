import pytest

from recommenders.text.ioc import extract_iocs, refang


def _values(text, kind=None):
    return [i.value for i in extract_iocs(text) if kind is None or i.kind == kind]


@pytest.mark.parametrize(
    ("defanged", "kind", "value"),
    [
        ("hxxp://bad[.]example[.]com/x", "url", "http://bad.example.com/x"),
        ("hxxps://evil(.)org/a?b=1", "url", "https://evil.org/a?b=1"),
        ("callback to 203.0.113[.]7 every hour", "ipv4", "203.0.113.7"),
        ("c2 at 198[.]51[.]100[.]23", "ipv4", "198.51.100.23"),
        ("domain update[.]micros0ft-cdn[.]net", "domain", "update.micros0ft-cdn.net"),
        ("mail ops[at]phish[.]co", "email", "ops@phish.co"),
        ("exploits cve-2021-44228 in log4j", "cve", "CVE-2021-44228"),
    ],
)
def test_defanged_forms(defanged, kind, value):
    assert value in _values(defanged, kind)


def test_hashes_by_length():
    text = (
        "md5 D41D8CD98F00B204E9800998ECF8427E sha1 da39a3ee5e6b4b0d3255bfef95601890afd80709 "
        + "sha256 "
        + "a" * 64
    )
    kinds = {i.kind for i in extract_iocs(text)}
    assert kinds == {"md5", "sha1", "sha256"}
    assert "d41d8cd98f00b204e9800998ecf8427e" in _values(text, "md5")


@pytest.mark.parametrize(
    "trap",
    [
        "upgraded to version 10.2.3.4 last week",
        "agent v1.0.0.12 shipped",
        "dropped invoice.pdf and setup.exe into temp",
        "the script loader.ps1 ran",
        "an address like 999.1.1.1 is not valid",
        "Python 3.11.7 was installed",
    ],
)
def test_false_positive_traps(trap):
    assert extract_iocs(trap) == []


def test_url_host_not_repeated_as_domain_and_dedup():
    found = extract_iocs("see http://a.example.com/p and http://a.example.com/p again")
    assert [(i.kind, i.value) for i in found] == [("url", "http://a.example.com/p")]


def test_refang_is_idempotent():
    assert refang(refang("hxxp://x[.]y")) == "http://x.y"


def test_domains_need_a_real_top_level_domain():
    """Letter runs from decoded random bytes (`z.oa`, `qc.vwjt`) are not domains."""
    assert extract_iocs("seen z.oa and qc.vwjt and mail to a@b.qq") == []
    text = "c2 at evil.co.uk, panel.xyz, files.top, gate.onion, cdn.example.io and x@y.ru"
    assert _values(text, "domain") == [
        "evil.co.uk",
        "panel.xyz",
        "files.top",
        "gate.onion",
        "cdn.example.io",
    ]
    assert _values(text, "email") == ["x@y.ru"]


def test_known_tlds_cover_every_country_code_in_use():
    from recommenders.text.ioc import KNOWN_TLDS

    assert {"uk", "eu", "ac", "su", "de", "cn", "ru", "com", "org", "gov", "mil"} <= KNOWN_TLDS
    assert len([t for t in KNOWN_TLDS if len(t) == 2]) == 249 - 5 + 4  # ISO 3166 − 5 + 4 extras
    assert not {"bl", "bq", "eh", "mf", "um", "oa", "exe"} & KNOWN_TLDS
