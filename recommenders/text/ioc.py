"""Indicators of compromise from free text: IPs, domains, URLs, hashes, CVEs and e-mail addresses.

Our own module (the maintained `iocextract` is GPL-2.0, unsuitable for an Apache-2.0 project).
Defanged forms are refanged first (`hxxp`, `[.]`, `(.)`, `[:]`, `[at]`, `[@]`). Traps avoided:
version numbers (`1.2.3.4` only counts as an IP when each octet ≤ 255 and it is not preceded by
"v"/"version"), file names that look like domains (`invoice.pdf`, `setup.exe`) are rejected by a
list of file extensions, and domains need a known-looking TLD of letters only.
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
        tld = domain.rsplit(".", 1)[-1]
        if tld in FILE_EXTENSIONS or domain.replace(".", "").isdigit():
            continue
        add("domain", domain, match.start(1), match.end(1))
    unique: dict[tuple[str, str], Indicator] = {}
    for indicator in sorted(found, key=lambda i: i.start):
        unique.setdefault((indicator.kind, indicator.value), indicator)
    return list(unique.values())
