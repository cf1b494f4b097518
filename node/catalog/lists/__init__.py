"""Responsibility lists (共享责任清单) in and out: the spreadsheet departments keep, read into
catalog entries with every bad cell reported, and entries written back as the same sheet.

    columns.py  the columns and their Chinese and English headers, the spellings of each value
    cells.py    one cell's text to a value and back: data items, keywords, enumerations
    rows.py     a sheet's rows to entries (every problem as row, column, rule), entries to rows,
                and the plan of an import against the entries a node holds
    files.py    reading a sheet from .xlsx or .csv (UTF-8 with or without BOM, or GB18030) and
                writing one

May import: node.model, node.errors, node.csvcells; openpyxl (files.py only). Never gRPC.
"""

from node.catalog.lists.columns import COLUMNS, Column
from node.catalog.lists.files import ListFileError, format_of, read_sheet, write_sheet
from node.catalog.lists.rows import (Departments, Planned, Problem, Row, Sheet, entries_to_rows, plan,
                                     read_rows)

__all__ = ["COLUMNS", "Column", "Departments", "ListFileError", "Planned", "Problem", "Row", "Sheet",
           "entries_to_rows", "format_of", "plan", "read_rows", "read_sheet", "write_sheet"]
