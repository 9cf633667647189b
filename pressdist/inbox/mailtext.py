"""Reading a mail that anyone may have written, without trusting it.

Owns what can be read of a returned mail's bytes: the mail parsed
(``parse``; a block of quoted headers, ``parse_headers``), its MIME parts
depth first (``parts``), a report's machine-readable part and the mail it
returns (RFC 6522: ``report_part``, ``original``, ``message_id_of``), a
part's text whatever its transfer encoding and charset claim (``part_text``),
the blocks of ``Name: value`` fields that DSNs and ARF reports carry
(``field_blocks``), header values unfolded, with raw 8-bit bytes and RFC 2047
encoded words decoded (``header_values``, ``subject_of``), the addresses in
headers and in a notice's words (``addresses``, ``plain_addresses``) and the
bounce address's token among them (``token_in``). What it reads is bounded:
at most 200 parts, 8,000 characters of an address header. A charset it does
not know, a lying one, a broken encoding or raw 8-bit bytes give text, never
an exception: the fallback of last resort is Windows-1252, which decodes
every byte.

It does not decide what the mail is or whom it names, which is
``inbox.classify``'s business, nor verify a token (``inbox.act``).
"""

from __future__ import annotations

import base64
import binascii
import email.message
import email.parser
import email.policy
import email.utils
import quopri
import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pressdist.mail.verp import BounceAddress

ADDRESS_CHARS = 8_000  # of one address header: ours name one or two addresses
_MAX_PARTS = 200  # MIME parts looked at: a report has three
_PARSER = email.parser.BytesParser(policy=email.policy.compat32)
_HEADER_PARSER = email.parser.HeaderParser(policy=email.policy.compat32)

_ORIGINAL_PARTS = (
    "message/rfc822",
    "message/global",
    "text/rfc822-headers",
    "message/rfc822-headers",
    "message/global-headers",
)
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_BETWEEN_WORDS = re.compile(r"[ \t\r\n]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_PLAIN_ADDRESS = re.compile(r"[^@\s]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_ADDRESS_SEPARATORS = re.compile(r"[\s<>,;\"()\[\]]+")
_ALIASES = {  # labels that promise less than the mail holds, or that no codec carries
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "us-ascii": "",  # what claims ASCII and is not is mostly UTF-8
    "ascii": "",
    "ks_c_5601-1987": "cp949",
    "unknown-8bit": "",
    "x-unknown": "",
    "default": "",
}


def parse(data: bytes | email.message.Message) -> email.message.Message:
    """The mail ``data`` parsed (as it is if it already is a mail); 8-bit bytes kept."""
    if isinstance(data, email.message.Message):
        return data
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    return _PARSER.parsebytes(bytes(data))


def report_part(
    message: email.message.Message, report_type: str, part_types: tuple[str, ...]
) -> tuple[bool, email.message.Message | None]:
    """(is such a report, its machine-readable part): multipart/report or a part of that type."""
    part = next((p for p in _children(message) if p.get_content_type() in part_types), None)
    declared = (
        message.get_content_type() == "multipart/report"
        and _param(message, "report-type") == report_type
    )
    return declared or part is not None, part


def original(message: email.message.Message) -> email.message.Message | None:
    """The returned mail or its headers, as a report attaches it (RFC 6522 §3)."""
    for part in _children(message):
        if part.get_content_type() not in _ORIGINAL_PARTS:
            continue
        payload = part.get_payload()
        if isinstance(payload, list):
            inner = next((p for p in payload if isinstance(p, email.message.Message)), None)
            if inner is not None:
                return inner
        return _HEADER_PARSER.parsestr(part_text(part))
    return None


def parse_headers(text: str) -> email.message.Message | None:
    """The header fields at the start of ``text`` as a mail, such as a bounce quotes them."""
    return _HEADER_PARSER.parsestr(text) if text else None


def message_id_of(message: email.message.Message | None) -> str:
    """The Message-ID of a mail, without its angle brackets; "" if it has none."""
    for value in header_values(message, "message-id"):
        text = value.strip()
        inner = text[text.find("<") + 1 : text.find(">")] if "<" in text and ">" in text else text
        words = inner.split()
        if words:
            return words[0]
    return ""


def _children(message: email.message.Message) -> list[email.message.Message]:
    payload = message.get_payload() if message.is_multipart() else None
    if not isinstance(payload, list):
        return []
    return [p for p in payload[:_MAX_PARTS] if isinstance(p, email.message.Message)]


def parts(
    message: email.message.Message, *, inside_mails: bool = False
) -> Iterator[email.message.Message]:
    """The parts of a mail, depth first; those of attached mails only if asked for."""
    stack, seen = [message], 0
    while stack and seen < _MAX_PARTS:
        part = stack.pop()
        seen += 1
        yield part
        if inside_mails or part.get_content_maintype() != "message":
            stack.extend(reversed(_children(part)))


def _param(message: email.message.Message, name: str) -> str:
    value = message.get_param(name, "")
    value = email.utils.collapse_rfc2231_value(value) if isinstance(value, tuple) else value
    return str(value).strip().lower()


def part_text(part: email.message.Message) -> str:
    """A part's text, decoded from its transfer encoding and charset, whatever they claim."""
    payload = part.get_payload()
    if isinstance(payload, list):
        # The parser takes a message/delivery-status part into blocks of fields
        # (and any other message/* into a mail): put them back as text.
        raw = "\n\n".join(_flatten(p) for p in payload if isinstance(p, email.message.Message))
        return _undo_encoding(_raw_text(raw, None), part)
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        return _raw_text(str(payload or ""), None)
    return _decode(data, part.get_content_charset(None))


def _flatten(block: email.message.Message) -> str:
    lines = [f"{name}: {value}" for name, value in block.raw_items()]
    payload = block.get_payload()
    if isinstance(payload, str) and payload.strip():
        lines += ["", payload]
    return "\n".join(lines)


def _undo_encoding(text: str, part: email.message.Message) -> str:
    """A message/* part that was base64 or quoted-printable after all (RFC 2046 forbids it)."""
    encoding = str(part.get("content-transfer-encoding", "")).strip().lower()
    try:
        if encoding == "base64":
            data = base64.b64decode(re.sub(r"[^A-Za-z0-9+/=]", "", text) + "==")
            return _decode(data, part.get_content_charset(None))
        if encoding == "quoted-printable":
            return _decode(quopri.decodestring(text.encode("utf-8", "replace")), None)
    except (binascii.Error, ValueError):
        return text
    return text


def field_blocks(text: str) -> list[dict[str, str]]:
    """Blocks of ``Name: value`` fields separated by empty lines, names in lower case."""
    blocks: list[dict[str, str]] = []
    current: dict[str, str] = {}
    last: str | None = None
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if not line.strip():
            if current:
                blocks.append(current)
            current, last = {}, None
        elif line[0] in " \t":
            if last is not None:
                current[last] += " " + line.strip()
        else:
            name, sep, value = line.partition(":")
            name = name.strip().lower()
            if sep and name and " " not in name and name not in current:
                current[name], last = value.strip(), name
            else:
                last = None
    if current:
        blocks.append(current)
    return blocks


def header_values(message: email.message.Message | None, name: str) -> list[str]:
    """Every value of the header ``name``, unfolded, as text; 8-bit bytes decoded."""
    if message is None:
        return []
    charset = _charset_of(message)
    return [
        _raw_text(_BETWEEN_WORDS.sub(" ", str(value)), charset).strip()
        for key, value in message.raw_items()
        if str(key).strip().lower() == name
    ]


def _charset_of(message: email.message.Message) -> str | None:
    """The mail's own charset: what a mail program writes raw 8-bit headers in, too."""
    try:
        return message.get_content_charset(None)
    except Exception:  # a broken Content-Type names no charset
        return None


def subject_of(message: email.message.Message) -> str:
    """A mail's subject, decoded, on one line."""
    values = header_values(message, "subject")
    return one_line(_decode_header(values[0])) if values else ""


def one_line(text: str) -> str:
    """Text on one line: control characters and runs of white space become one space."""
    return " ".join(_CONTROL.sub(" ", text).split())


def _decode_header(value: str) -> str:
    """A header value with its RFC 2047 encoded words decoded, in whatever charset they name.

    Encoded words next to each other are one text (RFC 2047 §6.2): the space
    between them goes.
    """
    out: list[str] = []
    position = 0
    for word in _ENCODED_WORD.finditer(value):
        between = value[position : word.start()]
        if position == 0 or between.strip():
            out.append(between)
        out.append(_decode_word(word[1], word[2], word[3]))
        position = word.end()
    out.append(value[position:])
    return "".join(out)


def _decode_word(charset: str, encoding: str, text: str) -> str:
    if encoding in "bB":
        data = _b64(text)
    else:
        data = quopri.decodestring(text.replace("_", " ").encode("ascii", "replace"), header=False)
    return _decode(data, charset.partition("*")[0])  # RFC 2231 §5: charset*language


def _b64(text: str) -> bytes:
    cleaned = re.sub(r"[^A-Za-z0-9+/]", "", text)
    try:
        return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4))
    except (binascii.Error, ValueError):
        return text.encode("ascii", "replace")


def _decode(data: bytes, charset: str | None) -> str:
    """Bytes as text: the charset they name if it fits, else UTF-8, else Windows-1252."""
    name = (charset or "").strip().strip("\"'").lower()
    name = _ALIASES.get(name, name)
    for candidate in (name, "utf-8"):
        if candidate:
            try:
                return data.decode(candidate)
            except (LookupError, ValueError):
                continue
    return data.decode("cp1252", "replace")


def _raw_text(value: str, charset: str | None) -> str:
    """Text as the parser left it, with raw 8-bit bytes (surrogate escapes) decoded."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        data = value.encode("utf-8", "surrogateescape")
        try:
            # UTF-8 first: what decodes as UTF-8 is that almost surely, and it is
            # what mail programs write raw (RFC 6532) whatever their body's charset
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return _decode(data, charset)
    return value


def addresses(values: Iterable[str]) -> list[str]:
    """The addresses in address headers, in order (display names left out)."""
    found: list[str] = []
    for value in values:
        try:
            pairs = email.utils.getaddresses([value[:ADDRESS_CHARS]])
        except Exception:  # an unparsable header names no one
            continue
        found += [address for _name, address in pairs if "@" in address[1:-1]]
    return found


def plain_addresses(text: str) -> Iterator[str]:
    """The addresses a text names in its own words, in order, each as often as it does."""
    for piece in (p.strip(".:'") for p in _ADDRESS_SEPARATORS.split(text)):
        if _PLAIN_ADDRESS.fullmatch(piece):
            yield piece


def token_in(bounce: BounceAddress | None, values: Iterable[str]) -> str:
    """The first token of the bounce address ``bounce`` found in ``values``; "" if none.

    A plain split on what cannot be in an address: linear, whatever the
    header, and a display name that holds the address does no harm, as
    ``inbox.act`` verifies every token.
    """
    if bounce is None:
        return ""
    for value in values:
        for piece in _ADDRESS_SEPARATORS.split(value[:ADDRESS_CHARS]):
            token = bounce.token_of(piece) if "@" in piece else None
            if token:
                return token
    return ""
