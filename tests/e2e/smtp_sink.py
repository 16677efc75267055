#!/usr/bin/python3
"""An SMTP server for tests that keeps every mail it receives as a file.

    /usr/bin/python3 tests/e2e/smtp_sink.py --dir OUT [--port N]

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
"""

import argparse
import asyncio
import json
import os
import signal
import sys

from aiosmtpd.smtp import SMTP


class Sink:
    def __init__(self, folder):
        self.folder = folder
        self.count = 0

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


async def serve(folder, port):
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    sink = Sink(folder)
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
    args = parser.parse_args()
    if not os.path.isdir(args.dir):
        sys.exit("smtp_sink: %s is not a directory" % args.dir)
    asyncio.run(serve(args.dir, args.port))


if __name__ == "__main__":
    main()
