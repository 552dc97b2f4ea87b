"""The `impact` command's subcommands, one module per topic; `cli.py` wires them into
the group.  Each command parses its options, calls one service (`reports.services`)
and prints the result.

    reading       validate, summary, template
    briefings     brief
    datasets      upload, datasets, history, compare, profile: a dataset's versions
    store         store (check, backup, restore)
    consultation  s188, pools, reconcile
    costs         costs, equality: money, and who bears the cuts
    monthly       monthly: the scheduled run
    delivery      deliver: who receives the monthly briefings, and monthly --send's step
    portal        serve, users
    options       what they share: parameter types, options, output, error handling

Each topic module lists its commands in `COMMANDS`.
"""
