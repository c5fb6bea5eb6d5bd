"""The per-target incident state machine (pure): N consecutive failures -> down, M successes -> up."""
from __future__ import annotations

import datetime as dt
from typing import Any


def advance(state: dict[str, Any], success: bool, reason: str | None, at: dt.datetime,
            open_after: int, close_after: int) -> str | None:
    """Apply one attempt to a target's state dict in place; return "down", "up" or None (no transition).

    state_since marks the first attempt of the streak that caused the transition: an incident starts
    at its first failure and ends at the first success of the recovery.
    """
    if state.get("state_since") is None:
        state["state_since"] = at
    if success:
        if not state.get("consecutive_successes"):
            state.update(consecutive_successes=0, consecutive_failures=0, streak_started_at=at)
        state["consecutive_successes"] += 1
    else:
        if not state.get("consecutive_failures"):
            state.update(consecutive_successes=0, consecutive_failures=0, streak_started_at=at)
        state["consecutive_failures"] += 1
        state["last_reason"] = reason
    transition = None
    if state.get("down") and success and state["consecutive_successes"] >= close_after:
        state.update(down=False, state_since=state["streak_started_at"])
        transition = "up"
    elif not state.get("down") and not success and state["consecutive_failures"] >= open_after:
        state.update(down=True, state_since=state["streak_started_at"])
        transition = "down"
    state.update(last_at=at, last_success=success)
    if success:
        state["last_reason"] = None
    return transition
