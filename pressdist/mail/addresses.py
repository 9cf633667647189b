"""E-mail addresses: what a list, a setting or ``--to`` may name as a mailbox.

Owns address syntax (RFC 5321/5322, RFC 6531 UTF-8 local parts), the IDNA 2008
form of internationalised domains, and the key that makes one mail per person
(Unicode NFC, case-folded: ``Müller`` typed on a Mac and on Windows is one
person). It does not format headers (``mime``) or read lists.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import idna

# RFC 5322 atext; a dot-atom is atext runs separated by single dots.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_DOT_ATOM = re.compile(rf"^{_ATEXT}+(?:\.{_ATEXT}+)*$")
_SPACE = re.compile(r"\s")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def check_address(text: str) -> tuple[str, str, bool]:
    """``(address, key, smtputf8)`` for a written address, or ValueError saying why not.

    The domain may be internationalised (``müller@bücher.de``); it is sent in
    its IDNA form, which every server accepts. A non-ASCII local part is valid
    (RFC 6531) but only deliverable through servers offering SMTPUTF8.
    """
    addr = text.strip()
    if not addr.isascii():
        # A decomposed ü (u + U+0308, as macOS writes it) and a composed one
        # are the same address: one form, so that they are one key.
        addr = unicodedata.normalize("NFC", addr)
    if not addr:
        raise ValueError("no address")
    if "<" in addr or ">" in addr:
        raise ValueError(f"{addr!r} is not a bare address (write only name@domain)")
    if addr.startswith('"'):
        # Valid in RFC 5322, but refused by most servers and by pressdist's own
        # headers: better said now than as a failure at send.
        raise ValueError(f"{addr!r} has a quoted mailbox name, which pressdist cannot send to")
    if _SPACE.search(addr):
        raise ValueError(f"{addr!r} contains whitespace")
    if "@" not in addr:
        raise ValueError(f"{addr!r} has no '@'")
    local, domain = addr.rsplit("@", 1)
    if not local:
        raise ValueError(f"{addr!r} has nothing before the '@'")
    smtputf8 = not local.isascii()
    if smtputf8:
        # RFC 6531 extends atext by every non-ASCII character.
        plain = re.sub(r"[^\x00-\x7f]", "a", local)
        if has_invisible(local):
            raise ValueError(f"{addr!r} contains an invisible character or a space")
        if not _DOT_ATOM.match(plain):
            raise ValueError(f"{addr!r}: the part before '@' is not a valid mailbox name")
    elif not _DOT_ATOM.match(local):
        raise ValueError(f"{addr!r}: the part before '@' is not a valid mailbox name")
    if len(local.encode("utf-8")) > 64:
        raise ValueError(f"{addr!r}: the part before '@' is longer than 64 bytes")
    if domain.endswith("."):
        domain = domain[:-1]
    try:
        ascii_domain = ascii_form(domain)
    except InvalidDomain as exc:
        if exc.idna_error:
            raise ValueError(f"{addr!r}: the domain is not valid ({exc.idna_error})") from None
        raise ValueError(f"{addr!r}: the domain {domain!r} is not a valid host name") from None
    if smtputf8:
        unicode_domain = idna.decode(ascii_domain)
        address = f"{local}@{unicode_domain}"
    else:
        address = f"{local}@{ascii_domain}"
    if len(address.encode("utf-8")) > 254:
        raise ValueError(f"{addr!r} is longer than 254 bytes")
    # Local parts are case-sensitive on paper, never in practice: one mail per person.
    key = unicodedata.normalize("NFC", local.lower()) if smtputf8 else local.lower()
    return address, f"{key}@{ascii_domain}", smtputf8


class InvalidDomain(ValueError):
    """Not a host name, or (with ``idna_error``) not a valid internationalised one."""

    def __init__(self, domain: str, idna_error: str = "") -> None:
        super().__init__(idna_error or f"{domain!r} is not a host name")
        self.idna_error = idna_error


def ascii_form(domain: str) -> str:
    """The IDNA 2008 (xn--) form of a domain, lower-cased; InvalidDomain when it has none.

    Python's own "idna" codec is IDNA 2003 and would turn straße.de into
    another domain, so every address in pressdist goes through this one.
    """
    found = _ascii_form(domain)
    if isinstance(found, InvalidDomain):
        raise found
    return found


@lru_cache(maxsize=4096)
def _ascii_form(domain: str) -> str | InvalidDomain:
    # Cached, errors included: a list has thousands of addresses but few domains.
    if "." not in domain:
        return InvalidDomain(domain)
    if domain.isascii():
        ascii_domain = domain.lower()
        if "xn--" in ascii_domain:  # an encoded IDN must decode to a valid one
            try:
                idna.decode(ascii_domain)
            except (idna.IDNAError, UnicodeError) as exc:
                return InvalidDomain(domain, str(exc))
    else:
        try:
            ascii_domain = idna.encode(domain, uts46=True).decode("ascii").lower()
        except (idna.IDNAError, UnicodeError) as exc:
            return InvalidDomain(domain, str(exc))
    labels = ascii_domain.split(".")
    if not all(_LABEL.match(label) for label in labels) or labels[-1].isdigit():
        return InvalidDomain(domain)
    return ascii_domain


def has_invisible(local: str) -> bool:
    """A non-ASCII control character or separator in a local part: it would hide or split it.

    RFC 6531 extends atext by every non-ASCII character, but not these.
    """
    return any(not c.isascii() and unicodedata.category(c)[0] in "CZ" for c in local)
