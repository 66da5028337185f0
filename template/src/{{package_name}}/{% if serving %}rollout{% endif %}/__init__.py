"""Rollout stage: compare the champion and the challenger from the server's prediction log (``make compare-rollout``)."""
