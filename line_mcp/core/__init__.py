"""The pure LINE algorithm: scoreboard, scoring, prompts, answer parsing, records.

Nothing here imports torch or any model library, so it loads in milliseconds
and is unit-testable without models.
"""
