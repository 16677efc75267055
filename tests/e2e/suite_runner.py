"""How each end-to-end script runs its unittest suite: pika quiet (it logs
the refusals the tests expect as errors), verbose results, the wall time,
and an exit code for CTest."""

import logging
import sys
import time
import unittest


def run_suite(rest, label):
    """Runs the calling module's tests with the leftover arguments `rest`;
    exits 0 if all passed and at least one ran."""
    logging.basicConfig(level=logging.CRITICAL)
    started = time.monotonic()
    result = unittest.main(module="__main__", argv=[sys.argv[0]] + rest, exit=False,
                           verbosity=2).result
    print("%s: %.1f s" % (label, time.monotonic() - started))
    if not result.wasSuccessful():
        sys.exit(1)
    # A run that tested nothing (a -k filter matching no test, every test
    # skipped) proves nothing: it fails, though unittest calls it a success.
    if result.testsRun - len(result.skipped) < 1:
        print("%s: FAILED: no test ran (%d selected, %d of them skipped)"
              % (label, result.testsRun, len(result.skipped)))
        sys.exit(1)
    sys.exit(0)
