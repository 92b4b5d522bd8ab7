"""Indicators of compromise from free text: IPs, domains, URLs, hashes, CVEs and e-mail addresses.

Our own module (the maintained `iocextract` is GPL-2.0, unsuitable for an Apache-2.0 project).
Defanged forms are refanged first (`hxxp`, `[.]`, `(.)`, `[:]`, `[at]`, `[@]`). Traps avoided:
version numbers (`1.2.3.4` only counts as an IP when each octet ≤ 255 and it is not preceded by
"v"/"version"), file names that look like domains (`invoice.pdf`, `setup.exe`) are rejected by a
list of file extensions, and domains need a real top-level domain (`KNOWN_TLDS`): random bytes
decode to letter runs such as `qc.vwjt` that a letters-only TLD rule would report.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

_REFANG = [
    (re.compile(r"\bhxxp(s?)\b", re.IGNORECASE), r"http\1"),
    (re.compile(r"\bfxp\b", re.IGNORECASE), "ftp"),
    (re.compile(r"\[\.\]|\(\.\)|\{\.\}|\[dot\]|\(dot\)", re.IGNORECASE), "."),
    (re.compile(r"\[:\]"), ":"),
    (re.compile(r"\[@\]|\[at\]|\(at\)", re.IGNORECASE), "@"),
    (re.compile(r"\[/\]"), "/"),
]

# Extensions of files, not top-level domains (the trap: "payload.exe" is not a domain).
FILE_EXTENSIONS = frozenset(
    [
        "exe",
        "dll",
        "sys",
        "bat",
        "cmd",
        "ps1",
        "psm1",
        "vbs",
        "vbe",
        "js",
        "jse",
        "wsf",
        "hta",
        "scr",
        "msi",
        "lnk",
        "jar",
        "py",
        "sh",
        "bin",
        "dat",
        "tmp",
        "log",
        "txt",
        "ini",
        "cfg",
        "conf",
        "xml",
        "json",
        "yaml",
        "yml",
        "csv",
        "doc",
        "docx",
        "docm",
        "xls",
        "xlsx",
        "xlsm",
        "ppt",
        "pptx",
        "pdf",
        "rtf",
        "zip",
        "rar",
        "7z",
        "gz",
        "tar",
        "iso",
        "img",
        "vhd",
        "png",
        "jpg",
        "jpeg",
        "gif",
        "bmp",
        "html",
        "htm",
        "php",
        "asp",
        "aspx",
        "jsp",
        "db",
        "sqlite",
        "ps",
        "pl",
        "rb",
        "go",
        "c",
        "cpp",
        "h",
        "cs",
    ]
)

# Top-level domains a reported domain may end in. The IANA root zone lists ~1,450 and is not
# available offline, so this is written out: every two-letter ccTLD in use (the ISO 3166-1
# alpha-2 codes, less bl/bq/eh/mf/um, which were never delegated or were withdrawn, plus ac, eu,
# su and uk) and the generic TLDs that legacy registries, phishing and malware infrastructure use
# most. A domain under a rarer new gTLD is missed (a URL with a scheme is still reported).
_COUNTRY_TLDS = """
    ac ad ae af ag ai al am ao aq ar as at au aw ax az ba bb bd be bf bg bh bi bj bm bn bo br bs
    bt bv bw by bz ca cc cd cf cg ch ci ck cl cm cn co cr cu cv cw cx cy cz de dj dk dm do dz ec
    ee eg er es et eu fi fj fk fm fo fr ga gb gd ge gf gg gh gi gl gm gn gp gq gr gs gt gu gw gy
    hk hm hn hr ht hu id ie il im in io iq ir is it je jm jo jp ke kg kh ki km kn kp kr kw ky kz
    la lb lc li lk lr ls lt lu lv ly ma mc md me mg mh mk ml mm mn mo mp mq mr ms mt mu mv mw mx
    my mz na nc ne nf ng ni nl no np nr nu nz om pa pe pf pg ph pk pl pm pn pr ps pt pw py qa re
    ro rs ru rw sa sb sc sd se sg sh si sj sk sl sm sn so sr ss st su sv sx sy sz tc td tf tg th
    tj tk tl tm tn to tr tt tv tw tz ua ug uk us uy uz va vc ve vg vi vn vu wf ws ye yt za zm zw
"""
_GENERIC_TLDS = """
    com net org info biz name pro mobi aero asia cat coop edu gov int jobs mil museum post tel
    travel xxx arpa onion
    academy africa agency app art bar beauty berlin best bid blog buzz cam casa center cfd chat
    click cloud club codes company computer consulting cyou date dev design digital directory
    download email energy expert finance fit fun games global gold group guru help host icu inc
    ink life link live lol london ltd market marketing media men monster moscow network news
    ninja nyc one online page paris party photo photos pics pink plus press pub quest racing rest
    review rocks run sbs school science services shop show site social software solutions space
    store stream studio support systems team tech technology tokyo today tools top trade training
    tube uno vip wang website wiki win work works world wtf xin xyz zone
"""
KNOWN_TLDS = frozenset((_COUNTRY_TLDS + _GENERIC_TLDS).split())

_URL = re.compile(r"\b(?:https?|ftp)://[^\s<>\"'`\])}]+", re.IGNORECASE)
_EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,24}\b")
_IPV4 = re.compile(r"(?<![\w.])(?<!v)(?<!version )(\d{1,3}(?:\.\d{1,3}){3})(?![\w.]*\d)(?!\.\w)")
_DOMAIN = re.compile(r"\b((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24})\b")
_CVE = re.compile(r"\bCVE-\d{4}-\d{4,7}\b", re.IGNORECASE)
_HASHES = {
    "sha256": re.compile(r"\b[A-Fa-f0-9]{64}\b"),
    "sha1": re.compile(r"\b[A-Fa-f0-9]{40}\b"),
    "md5": re.compile(r"\b[A-Fa-f0-9]{32}\b"),
}


@dataclass(frozen=True)
class Indicator:
    """One indicator: its kind, refanged value and where it starts in the refanged text."""

    kind: str
    value: str
    start: int


def refang(text: str) -> str:
    """Undo common defanging so that indicators can be matched."""
    for pattern, replacement in _REFANG:
        text = pattern.sub(replacement, text)
    return text


def _public_ipv4(candidate: str) -> bool:
    try:
        ipaddress.IPv4Address(candidate)
    except ValueError:
        return False
    return True


def _tld(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower()


def extract_iocs(text: str) -> list[Indicator]:
    """All indicators in order of appearance, deduplicated by (kind, value)."""
    clean = refang(text)
    found: list[Indicator] = []
    taken: list[tuple[int, int]] = []

    def add(kind: str, value: str, start: int, end: int) -> None:
        if any(s <= start < e for s, e in taken):
            return
        taken.append((start, end))
        found.append(Indicator(kind, value, start))

    for match in _URL.finditer(clean):
        add("url", match.group(0).rstrip(".,;:"), match.start(), match.end())
    for match in _EMAIL.finditer(clean):
        if _tld(match.group(0)) in KNOWN_TLDS:
            add("email", match.group(0).lower(), match.start(), match.end())
    for match in _CVE.finditer(clean):
        add("cve", match.group(0).upper(), match.start(), match.end())
    for kind, pattern in _HASHES.items():
        for match in pattern.finditer(clean):
            add(kind, match.group(0).lower(), match.start(), match.end())
    for match in _IPV4.finditer(clean):
        before = clean[max(0, match.start() - 8) : match.start()].lower()
        if _public_ipv4(match.group(1)) and not re.search(r"(version|ver\.?|v)\s*$", before):
            add("ipv4", match.group(1), match.start(1), match.end(1))
    for match in _DOMAIN.finditer(clean):
        domain = match.group(1).lower()
        tld = _tld(domain)
        if tld in FILE_EXTENSIONS or tld not in KNOWN_TLDS:
            continue
        add("domain", domain, match.start(1), match.end(1))
    unique: dict[tuple[str, str], Indicator] = {}
    for indicator in sorted(found, key=lambda i: i.start):
        unique.setdefault((indicator.kind, indicator.value), indicator)
    return list(unique.values())
