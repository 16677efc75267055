#!/usr/bin/python3
"""An SMTP server for tests that keeps every mail it receives as a file.

    /usr/bin/python3 tests/e2e/smtp_sink.py --dir OUT [--port N] [--reject ADDR]...

Listens on 127.0.0.1 (port 0, the default, picks a free one), prints the
port on stdout as one line ("<port>\\n") once it accepts connections, and
exits 0 on SIGTERM or SIGINT. Needs Debian's python3-aiosmtpd, importable
from /usr/bin/python3.

Each mail becomes OUT/NNNN.json (0001.json, 0002.json, ... in the order
received), written to a temporary name and renamed, so a reader never sees
half a file:

    {"mail_from": "guardian@example.org",
     "rcpt_tos": ["alice@example.org"],
     "content": "Date: ...\\r\\nFrom: ...\\r\\n\\r\\nbody\\r\\n"}

content is the message as received, after SMTP's dot-unstuffing, with its
CRLFs; bytes that are not UTF-8 appear as \\xNN escapes.

--reject ADDR (repeatable) answers RCPT TO:<ADDR> with a permanent 550, as
a server does for a mailbox that does not exist; the address is compared
without regard to case. A mail with no accepted recipient is not kept.
"""

import argparse
import asyncio
import json
import os
import signal
import sys

from aiosmtpd.smtp import SMTP


class Sink:
    def __init__(self, folder, reject=()):
        self.folder = folder
        self.count = 0
        self.reject = {address.lower() for address in reject}

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.reject:
            return "550 5.1.1 <%s>: recipient rejected (smtp_sink --reject)" % address
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "content": envelope.original_content.decode("utf-8", errors="backslashreplace"),
        }
        final = os.path.join(self.folder, "%04d.json" % self.count)
        with open(final + ".tmp", "w") as f:
            json.dump(record, f)
        os.rename(final + ".tmp", final)
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", required=True, help="where to write received mails")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free)")
    parser.add_argument("--reject", action="append", default=[], metavar="ADDR",
                        help="answer RCPT TO for ADDR with 550 (repeatable)")
    args = parser.parse_args()
    if not os.path.isdir(args.dir):
        sys.exit("smtp_sink: %s is not a directory" % args.dir)
    asyncio.run(serve(args.dir, args.port, args.reject))


if __name__ == "__main__":
    main()
