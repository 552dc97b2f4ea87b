"""The use cases, for the CLI and any other front end alike: no click, no HTTP.

Each function takes a `Source` (a file or a stored version) and plain options,
and returns data: a report, a summary, a written briefing, a comparison, an
upload's result, a month's run.  A front end parses its input, calls one of
these, and shows the result.  Each service that reads a file answers with a
`Result`: its value, or, for a file that cannot be used, the report that says why.

- `result`: `Result[T]`, a value or the report of a file that cannot be used
- `source`: `Source`, `HowToRead`, `check()`, `load_report()`
- `summaries`: `summarise_source()`, without the documents layer
- `briefs`: `brief()`, `choose_template()`
- `datasets`: `upload()`, `history_output()`, `history_dict()`, `datasets_dict()`
- `comparisons`: `compare_sources()`, the store only for a stored dataset's versions
- `outputs`: files written atomically (text, summary workbook, annotated copy, template)
- `monthly`: `run_monthly()`, the scheduled job
"""
