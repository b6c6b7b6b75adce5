"""The virtual clock runs timers in time order without waiting; the real one runs callbacks posted from threads."""

from __future__ import annotations

import threading

import pytest

from voiceguide.session.clock import RealClock, VirtualClock


def test_virtual_clock_runs_timers_in_time_then_insertion_order():
    clock = VirtualClock()
    seen: list[tuple[float, str]] = []
    clock.call_later(2.0, lambda: seen.append((clock.now(), "b")))
    clock.call_later(1.0, lambda: seen.append((clock.now(), "a")))
    clock.call_later(2.0, lambda: seen.append((clock.now(), "c")))
    cancelled = clock.call_later(1.5, lambda: seen.append((clock.now(), "never")))
    cancelled.cancel()
    assert clock.pending() == 3
    clock.run()
    assert seen == [(1.0, "a"), (2.0, "b"), (2.0, "c")]
    assert clock.now() == 2.0 and clock.pending() == 0


def test_virtual_clock_advance_runs_only_what_falls_due_and_timers_can_schedule_timers():
    clock = VirtualClock()
    ticks: list[float] = []

    def tick() -> None:
        ticks.append(clock.now())
        clock.call_later(1.0, tick)

    clock.call_later(0.0, tick)
    clock.advance(3.5)
    assert ticks == [0.0, 1.0, 2.0, 3.0]
    assert clock.now() == 3.5
    clock.run(until=lambda: len(ticks) >= 6)
    assert ticks[-1] == 5.0


def test_virtual_clock_run_stops_at_the_limit():
    clock = VirtualClock()
    clock.call_at(100.0, lambda: None)
    clock.run(limit=50.0)
    assert clock.now() == 0.0 and clock.pending() == 1
    clock.call_at(-5.0, lambda: None)  # the past means now
    assert clock.next_time() == 0.0


def test_real_clock_runs_callbacks_posted_from_another_thread_in_its_own_thread():
    clock = RealClock(speed=100.0)
    ran_in: list[str] = []
    done = threading.Event()

    def from_elsewhere() -> None:
        clock.post(lambda: ran_in.append(threading.current_thread().name))
        clock.call_later(5.0, done.set)  # 5 clock seconds at 100× speed

    threading.Thread(target=from_elsewhere, name="other").start()
    runner = threading.Thread(target=lambda: clock.run(until=done.is_set), name="clock")
    runner.start()
    runner.join(timeout=30)
    assert not runner.is_alive()
    assert ran_in == ["clock"]
    assert clock.now() >= 5.0


def test_real_clock_stop_ends_run_from_any_thread():
    clock = RealClock()
    runner = threading.Thread(target=clock.run)
    runner.start()
    clock.stop()
    runner.join(timeout=30)
    assert not runner.is_alive()
    with pytest.raises(ValueError):
        RealClock(speed=0)
