"""Reading a `/bao_cao` the way a careful clerk would (see `reader`). Pure, no I/O."""

from handlers.reading.reader import ParsedReport, line_values, parse_report, report_line
from handlers.reading.text import odd_digit, strip_invisible

__all__ = [
    "ParsedReport",
    "line_values",
    "odd_digit",
    "parse_report",
    "report_line",
    "strip_invisible",
]
