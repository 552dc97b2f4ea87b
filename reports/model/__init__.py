"""The project's own vocabulary, with no outside library but numpy and natsort.

`fields` (the columns a schedule has, their headings and status words),
`measures` (every figure reported), `codes` (every finding code), `findings`
(Finding and Findings), `errors` (the fatal exceptions), `formats` (numbers and
dates for people) and `version`.
"""
