"""One module per output library: `pdf` (ReportLab), `html` (Jinja2: the accessible HTML
briefing), `tagged` (WeasyPrint and pikepdf: the tagged PDF/UA briefing, from that HTML),
`xlsx` (openpyxl), `text` (tabulate, for terminals) and `data` (json and csv).  Renderers
lay out what the lower layers worked out; they decide no figure."""
