"""One module per output library: `pdf` (ReportLab), `xlsx` (openpyxl), `text`
(tabulate, for terminals) and `data` (json and csv).  Renderers lay out what the
lower layers worked out; they decide no figure."""
