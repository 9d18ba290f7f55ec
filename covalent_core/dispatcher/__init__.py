"""The standalone dispatcher: scheduling, retries, time limits, cancellation, resume."""
