"""Reading a `/bao_cao` the way a careful clerk would (see `reader`). Pure, no I/O."""

from handlers.reading.reader import ParsedReport, parse_report, report_line
from handlers.reading.text import odd_digit, strip_invisible

__all__ = ["ParsedReport", "odd_digit", "parse_report", "report_line", "strip_invisible"]
