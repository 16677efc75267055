"""Time in the end-to-end tests: one scale for every deadline, and polling.

    from timing import scaled, wait_for
    proc.wait(scaled(15))
    wait_for(lambda: mail_arrived(), 30, "the warning mail")

Every deadline the e2e scripts keep (process start and stop, broker boot,
socket and command timeouts, the deadlines of wait_for) is multiplied by
one factor, $AUTHSVC_TEST_TIME_SCALE (a float, default 1). Sanitizer builds
run several times slower and set it higher (e.g. 3); a deadline is how long
we are willing to wait for something that should happen, never how long
something takes, so scaling it changes no result, only how long a failing
run takes to say so.

There are no fixed sleeps before assertions: a test polls for the event it
expects (wait_for), and checks that something did not happen only after
evidence that it had its chance to.
"""

import math
import os
import time

_VARIABLE = "AUTHSVC_TEST_TIME_SCALE"


def _read_scale():
    text = os.environ.get(_VARIABLE, "").strip()
    if not text:
        return 1.0
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        # A typo must not silently run with the default deadlines.
        raise ValueError("%s=%r: expected a positive number" % (_VARIABLE, text))
    return value


TIME_SCALE = _read_scale()


def scaled(seconds):
    """`seconds` (a deadline) times $AUTHSVC_TEST_TIME_SCALE."""
    return seconds * TIME_SCALE


def wait_for(predicate, timeout, what, interval=0.1):
    """Calls predicate() until it returns something true, and returns that.
    Raises AssertionError naming `what` if that takes longer than `timeout`
    seconds (scaled). predicate() is always tried once more after the
    deadline, so a slow poll cannot fail a check that holds."""
    deadline = time.monotonic() + scaled(timeout)
    while True:
        late = time.monotonic() > deadline
        value = predicate()
        if value:
            return value
        if late:
            raise AssertionError("timed out after %.1f s waiting for %s"
                                 % (scaled(timeout), what))
        time.sleep(interval)
