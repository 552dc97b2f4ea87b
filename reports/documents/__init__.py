"""What a document says, worked out with no output library.

`blocks` (text, tables, tiles, charts, sections and the one store of figures),
`wording` (placeholders and default wording), `template` (the TOML briefing
templates), `builder` (the state one briefing is built in), `sections` (one
module per section, registered by id) and `briefing` (assembly).
"""
