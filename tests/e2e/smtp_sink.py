#!/usr/bin/python3
"""An SMTP server for tests that keeps every mail it receives as a file.

    /usr/bin/python3 tests/e2e/smtp_sink.py --dir OUT [--port N] [--reject ADDR]...

Listens on 127.0.0.1 (port 0, the default, picks a free one), prints the
port on stdout as one line ("<port>\\n") once it accepts connections, and
exits 0 on SIGTERM or SIGINT, or 1 if it failed to handle a mail (it
answered that one 451 and said why on stderr). Needs Debian's python3-aiosmtpd, importable
from /usr/bin/python3.

Each mail becomes OUT/NNNN.json (0001.json, 0002.json, ... in the order
received), written to a temporary name and renamed, so a reader never sees
half a file:

    {"mail_from": "guardian@example.org",
     "rcpt_tos": ["alice@example.org"],
     "content": "Date: ...\\r\\nFrom: ...\\r\\n\\r\\nbody\\r\\n",
     "subject": "...", "body": "...", "to": "...", "from": "...",
     "defects": []}

content is the message as received, after SMTP's dot-unstuffing, with its
CRLFs; bytes that are not UTF-8 appear as \\xNN escapes.

The other fields are the message as a reader sees it, decoded by Python's
email package (policy.default), so that the tests check authsvc's encoders
(RFC 2047 subjects, quoted-printable bodies) against decoders written by
someone else: subject, to and from are the decoded header values (null if
absent), body is get_content() (text, its lines ending in CRLF as sent).
defects lists, as "WHERE: KIND: text" strings, what the parser complained
about, and what this sink checks on top because the parser forgives it:
  - an encoded word longer than 75 characters, or one whose text is not
    whole characters of its charset (RFC 2047 sections 2 and 5; the parser
    joins adjacent words and so hides a character split between two);
  - a quoted-printable line longer than 76 characters, or one ending in
    a space or tab, which a relay may strip (RFC 2045 section 6.7).
A test expects an empty list.

--reject ADDR (repeatable) answers RCPT TO:<ADDR> with a permanent 550, as
a server does for a mailbox that does not exist; the address is compared
without regard to case. A mail with no accepted recipient is not kept.
"""

import argparse
import asyncio
import base64
import binascii
import email
import email.policy
import email.quoprimime
import json
import os
import re
import signal
import sys
import traceback

from aiosmtpd.smtp import SMTP


_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([BbQq])\?([^?\s]*)\?=")


def _encoded_word_defects(name, value):
    """The sink's own checks of the encoded words in one raw header value."""
    out = []
    for n, m in enumerate(_ENCODED_WORD.finditer(value), 1):
        where = "%s: encoded word %d" % (name, n)
        if len(m.group(0)) > 75:
            out.append("%s: TooLong: %d characters" % (where, len(m.group(0))))
        charset, kind, text = m.groups()
        try:
            if kind in "Bb":
                data = base64.b64decode(text, validate=True)
            else:
                data = email.quoprimime.header_decode(text).encode("latin-1")
            data.decode(charset.split("*")[0])
        except (binascii.Error, ValueError, LookupError) as e:
            out.append("%s: NotWholeCharacters: %s" % (where, e))
    return out


def _quoted_printable_defects(content):
    """The sink's own checks of a quoted-printable body's lines."""
    _, _, body = content.partition(b"\r\n\r\n")
    out = []
    for n, line in enumerate(body.split(b"\r\n"), 1):
        if len(line) > 76:
            out.append("body: line %d: TooLong: %d characters" % (n, len(line)))
        if line.endswith((b" ", b"\t")):
            out.append("body: line %d: TrailingWhitespace: a relay may strip it" % n)
    return out


def decode(content):
    """The decoded fields of a record (see the module's docstring)."""
    msg = email.message_from_bytes(content, policy=email.policy.default)
    defects = []
    try:
        body = msg.get_content()
    except Exception as e:  # noqa: BLE001 -- recorded, a test fails on it
        body = None
        defects.append("body: %s: %s" % (type(e).__name__, e))

    def header(name):
        value = msg[name]
        return None if value is None else str(value)

    record = {"subject": header("subject"), "body": body, "to": header("to"),
              "from": header("from")}
    # Read after get_content(): decoding the payload adds its defects.
    defects += ["message: %s: %s" % (type(d).__name__, d) for d in msg.defects]
    for name, value in msg.items():
        defects += ["%s: %s: %s" % (name, type(d).__name__, d)
                    for d in getattr(value, "defects", ())]
    for name, raw in msg.raw_items():
        defects += _encoded_word_defects(name, raw)
    if msg.get("content-transfer-encoding", "").lower() == "quoted-printable":
        defects += _quoted_printable_defects(content)
    record["defects"] = defects
    return record


class Sink:
    def __init__(self, folder, reject=()):
        self.folder = folder
        self.count = 0
        self.failures = 0
        self.reject = {address.lower() for address in reject}

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.reject:
            return "550 5.1.1 <%s>: recipient rejected (smtp_sink --reject)" % address
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        try:
            record = {
                "mail_from": envelope.mail_from,
                "rcpt_tos": list(envelope.rcpt_tos),
                "content": envelope.original_content.decode("utf-8", errors="backslashreplace"),
            }
            record.update(decode(envelope.original_content))
            final = os.path.join(self.folder, "%04d.json" % (self.count + 1))
            with open(final + ".tmp", "w") as f:
                json.dump(record, f)
            os.rename(final + ".tmp", final)
        except Exception:  # noqa: BLE001 -- reported, and the exit status says so
            self.failures += 1
            traceback.print_exc()
            return "451 the test sink failed to keep this mail"
        self.count += 1
        return "250 OK"


async def serve(folder, port, reject):
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    sink = Sink(folder, reject)
    # decode_data=False keeps the bytes as sent (original_content).
    server = await loop.create_server(lambda: SMTP(sink, decode_data=False, hostname="sink"),
                                      "127.0.0.1", port)
    print(server.sockets[0].getsockname()[1], flush=True)
    await stop
    server.close()
    await server.wait_closed()
    return sink.failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", required=True, help="where to write received mails")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free)")
    parser.add_argument("--reject", action="append", default=[], metavar="ADDR",
                        help="answer RCPT TO for ADDR with 550 (repeatable)")
    args = parser.parse_args()
    if not os.path.isdir(args.dir):
        sys.exit("smtp_sink: %s is not a directory" % args.dir)
    failures = asyncio.run(serve(args.dir, args.port, args.reject))
    if failures:
        sys.exit("smtp_sink: failed to keep %d mail(s); see above" % failures)


if __name__ == "__main__":
    main()
