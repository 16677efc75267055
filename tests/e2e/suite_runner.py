"""How each end-to-end script runs its unittest suite: pika quiet (it logs
the refusals the tests expect as errors), verbose results, the wall time,
and an exit code for CTest."""

import logging
import sys
import time
import unittest


def run_suite(rest, label):
    """Runs the calling module's tests with the leftover arguments `rest`;
    exits 0 if all passed."""
    logging.basicConfig(level=logging.CRITICAL)
    started = time.monotonic()
    result = unittest.main(module="__main__", argv=[sys.argv[0]] + rest, exit=False,
                           verbosity=2).result
    print("%s: %.1f s" % (label, time.monotonic() - started))
    sys.exit(0 if result.wasSuccessful() else 1)
