"""The login throttle on its own: counts, windows, resets and its memory bound."""

from __future__ import annotations

import threading

import pytest

from approval_ui.login_throttle import LoginThrottle, LoginThrottledError
from samdesk.errors import RateLimitedError, SamdeskError

ALICE = "alice@northwind.example"
BOB = "bob@northwind.example"
HOME = "203.0.113.7"
WINDOW = 900.0


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def throttle(clock: Clock) -> LoginThrottle:
    return LoginThrottle(max_per_email=5, max_per_address=20, window_s=WINDOW, clock=clock)


def fail(throttle: LoginThrottle, email: str, address: str | None = HOME, times: int = 1) -> None:
    """``times`` attempts that each turn out to be a wrong password (nothing to settle)."""
    for _ in range(times):
        throttle.begin(email, address)


def test_the_sixth_attempt_within_the_window_is_refused_with_when_to_retry(
    throttle: LoginThrottle, clock: Clock
) -> None:
    fail(throttle, ALICE, times=5)
    clock.advance(60)
    with pytest.raises(LoginThrottledError) as refused:
        throttle.begin(ALICE, HOME)
    assert refused.value.kind == "email"
    assert refused.value.retry_after_s == WINDOW - 60
    assert str(refused.value) == (
        "Too many failed sign-ins for this account; try again in 14 minutes."
    )
    assert isinstance(refused.value, RateLimitedError) and isinstance(refused.value, SamdeskError)
    assert refused.value.http_status == 429


def test_a_refused_attempt_is_not_counted_and_the_window_slides(
    throttle: LoginThrottle, clock: Clock
) -> None:
    fail(throttle, ALICE)  # at t
    clock.advance(100)
    fail(throttle, ALICE, times=4)  # at t+100
    for _ in range(10):
        with pytest.raises(LoginThrottledError):
            throttle.begin(ALICE, HOME)
    clock.advance(WINDOW - 100 - 1)
    with pytest.raises(LoginThrottledError) as refused:
        throttle.begin(ALICE, HOME)
    assert refused.value.retry_after_s == 1
    clock.advance(1)  # the first failure has left the window: one more try
    fail(throttle, ALICE)
    with pytest.raises(LoginThrottledError):  # the other four are still in it
        throttle.begin(ALICE, HOME)
    clock.advance(100)
    throttle.begin(ALICE, HOME).succeeded()


def test_after_the_window_a_locked_email_may_sign_in(throttle: LoginThrottle, clock: Clock) -> None:
    fail(throttle, ALICE, times=5)
    clock.advance(WINDOW - 0.5)
    with pytest.raises(LoginThrottledError) as refused:
        throttle.begin(ALICE, HOME)
    assert refused.value.retry_after_s == 1  # rounded up, never 0
    assert "try again in 1 minute." in str(refused.value)
    clock.advance(0.5)
    throttle.begin(ALICE, HOME).succeeded()


def test_success_clears_the_emails_count(throttle: LoginThrottle) -> None:
    fail(throttle, ALICE, times=4)
    throttle.begin(ALICE, HOME).succeeded()
    fail(throttle, ALICE, times=5)  # five fresh failures are allowed again
    with pytest.raises(LoginThrottledError):
        throttle.begin(ALICE, HOME)


def test_success_does_not_clear_the_addresses_count(throttle: LoginThrottle) -> None:
    """One valid account must not let an address reset its count between guesses."""
    for n in range(19):
        fail(throttle, f"victim{n}@northwind.example")
    throttle.begin(ALICE, HOME).succeeded()  # refunded: a success is not a failure
    fail(throttle, "victim19@northwind.example")  # the 20th failure from HOME
    with pytest.raises(LoginThrottledError) as refused:
        throttle.begin(ALICE, HOME)
    assert refused.value.kind == "address"
    assert "from this address" in str(refused.value)


def test_emails_are_counted_case_insensitively(throttle: LoginThrottle) -> None:
    for email in (ALICE, ALICE.upper(), " Alice@Northwind.Example ", ALICE.title(), ALICE):
        fail(throttle, email)
    with pytest.raises(LoginThrottledError):
        throttle.begin("ALICE@northwind.EXAMPLE", "198.51.100.1")  # any address


def test_another_email_is_unaffected(throttle: LoginThrottle) -> None:
    fail(throttle, ALICE, times=5)
    throttle.begin(BOB, HOME).succeeded()


def test_too_many_failures_from_one_address_lock_it_for_every_email(
    throttle: LoginThrottle, clock: Clock
) -> None:
    for n in range(20):
        fail(throttle, f"guess{n}@northwind.example")
    with pytest.raises(LoginThrottledError) as refused:
        throttle.begin(BOB, HOME)
    assert refused.value.kind == "address"
    throttle.begin(BOB, "198.51.100.1").succeeded()  # another address is not locked
    clock.advance(WINDOW)
    throttle.begin(BOB, HOME).succeeded()


def test_an_unfinished_attempt_is_refunded(throttle: LoginThrottle) -> None:
    """An attempt that ends without a verdict on the password (the database was down)."""
    for _ in range(10):
        throttle.begin(ALICE, HOME).cancel()
    assert len(throttle) == 0
    fail(throttle, ALICE, times=5)
    with pytest.raises(LoginThrottledError):
        throttle.begin(ALICE, HOME)


def test_memory_is_bounded_by_pruning_and_a_cap_on_keys(clock: Clock) -> None:
    throttle = LoginThrottle(max_per_email=2, max_per_address=50, max_keys=10, clock=clock)
    fail(throttle, ALICE, address="a0", times=2)  # ALICE is locked: 2 keys
    for n in range(4):
        fail(throttle, f"user{n}@x.example", address=f"a{n + 1}")
    assert len(throttle) == 10
    with pytest.raises(LoginThrottledError):
        throttle.begin(ALICE, "elsewhere")
    for n in range(100):
        fail(throttle, f"spray{n}@x.example", address=f"b{n}")
        assert len(throttle) <= 10
    fail(throttle, BOB, address="c", times=2)  # the most recent lockout survives the cap
    with pytest.raises(LoginThrottledError):
        throttle.begin(BOB, "elsewhere")
    throttle.begin(ALICE, "elsewhere")  # fail open: the cap forgot her (oldest) lockout
    assert len(throttle) == 10
    clock.advance(WINDOW)
    fail(throttle, "late@x.example", address="d")
    assert len(throttle) == 2  # everything older than the window was pruned


def test_each_key_keeps_at_most_its_limit_of_timestamps(
    throttle: LoginThrottle, clock: Clock
) -> None:
    for _ in range(50):
        fail(throttle, ALICE, address=None)  # no client address: one shared key
        clock.advance(WINDOW)
    assert all(len(times) <= 20 for times in throttle._failures.values())


def test_racing_attempts_cannot_slip_past_the_limit(throttle: LoginThrottle) -> None:
    """Every attempt is counted before its password is checked, so 40 threads at once get
    exactly five tries at one email."""
    allowed: list[int] = []
    start = threading.Barrier(40)

    def attempt() -> None:
        start.wait()
        try:
            throttle.begin(ALICE, None)
        except LoginThrottledError:
            return
        allowed.append(1)

    threads = [threading.Thread(target=attempt) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(allowed) == 5


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError):
        LoginThrottle(max_per_email=0)
    with pytest.raises(ValueError):
        LoginThrottle(window_s=0)
