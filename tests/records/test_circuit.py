"""The circuit breaker opens after repeated failures and lets one trial through later."""

from __future__ import annotations

import threading

import pytest

from portal.records.circuit import CircuitBreaker
from tests.records.conftest import Recorder


@pytest.fixture
def clock() -> Recorder:
    return Recorder()


@pytest.fixture
def breaker(clock: Recorder) -> CircuitBreaker:
    return CircuitBreaker(failure_threshold=5, reset_after=30.0, clock=clock.clock)


def _fail(breaker: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        assert breaker.allow()
        breaker.record_failure()


def test_it_opens_after_five_failures_in_a_row(breaker):
    _fail(breaker, 4)
    assert breaker.state == "closed"
    _fail(breaker, 1)
    assert breaker.state == "open"
    assert not breaker.allow()


def test_a_success_resets_the_count(breaker):
    _fail(breaker, 4)
    assert breaker.allow()
    breaker.record_success()
    _fail(breaker, 4)
    assert breaker.state == "closed"


def test_it_half_opens_after_30_seconds_for_one_trial(breaker, clock):
    _fail(breaker, 5)
    clock.now += 29.9
    assert not breaker.allow()
    assert breaker.seconds_until_retry() == pytest.approx(0.1)
    clock.now += 0.1
    assert breaker.state == "half_open"
    assert breaker.allow()
    assert not breaker.allow(), "only one trial at a time"
    breaker.record_success()
    assert breaker.state == "closed"
    assert breaker.allow() and breaker.allow()


def test_a_failed_trial_opens_it_for_another_30_seconds(breaker, clock):
    _fail(breaker, 5)
    clock.now += 30
    assert breaker.allow()
    breaker.record_failure()
    assert breaker.state == "open"
    clock.now += 29
    assert not breaker.allow()
    clock.now += 1
    assert breaker.allow()


def test_only_one_of_many_threads_gets_the_trial(breaker, clock):
    _fail(breaker, 5)
    clock.now += 30
    start = threading.Barrier(32)
    allowed: list[bool] = []

    def attempt() -> None:
        start.wait()
        allowed.append(breaker.allow())

    threads = [threading.Thread(target=attempt) for _ in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert allowed.count(True) == 1


def test_failures_counted_from_many_threads_are_not_lost(clock):
    breaker = CircuitBreaker(failure_threshold=400, reset_after=30.0, clock=clock.clock)
    threads = [
        threading.Thread(target=lambda: [breaker.record_failure() for _ in range(50)])
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert breaker.state == "open"


def test_nonsense_settings_are_refused():
    with pytest.raises(ValueError):
        CircuitBreaker(failure_threshold=0)
    with pytest.raises(ValueError):
        CircuitBreaker(reset_after=0)
