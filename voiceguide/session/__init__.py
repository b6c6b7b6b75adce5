"""The session engine: the routine as a state machine driven by a clock and by commands."""

from voiceguide.session.clock import Clock, RealClock, Timer, VirtualClock
from voiceguide.session.machine import State
from voiceguide.session.position import Position
from voiceguide.session.session import Session
from voiceguide.session.settings import SessionSettings

__all__ = ["Clock", "RealClock", "VirtualClock", "Timer", "State", "Position", "Session", "SessionSettings"]
