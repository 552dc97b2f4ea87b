"""The versioned store: `db` (the only module that talks to the database, through
SQLAlchemy Core), `paths` (where a store lives; dataset names and their slugs) and
`files` (writing files so that a crash never leaves a half-written one)."""
