"""`python app.py export`: the same exports as the web room, written to a file with a progress bar."""
from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from dashboards.exports.request import FORMATS, ExportInputError, build_request, split_list
from dashboards.exports.run import check_target, total_steps, write_file_atomically
from geo.registry import province
from store import readers
from store.readers_export import GRAINS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the export command's options."""
    parser.add_argument("--from", dest="start", required=True, type=_date, metavar="YYYY-MM-DD",
                        help="first day of the period")
    parser.add_argument("--to", dest="end", required=True, type=_date, metavar="YYYY-MM-DD",
                        help="last day of the period (inclusive)")
    parser.add_argument("--format", dest="fmt", required=True, choices=FORMATS,
                        help="bieu06-xlsx: the official Biểu 06 form; csv / xlsx: statistics by unit x period x field")
    parser.add_argument("--units", metavar="CODES", help="comma-separated unit codes (default: the whole province)")
    parser.add_argument("--fields", metavar="FIELDS", help="comma-separated procedure field codes (default: all)")
    parser.add_argument("--by", choices=GRAINS, default="month", help="period buckets of the statistics (default: month)")
    parser.add_argument("--lang", choices=("vi", "en"), default="vi", help="language of headers (default: vi)")
    parser.add_argument("--out", required=True, type=Path, metavar="FILE", help="file to write")
    parser.add_argument("--force", action="store_true", help="replace FILE if it already exists")


def run(args: argparse.Namespace, settings, engine, now: dt.datetime | None = None) -> int:
    """Validate the arguments, write the export with a progress bar on stderr; return the exit code."""
    from tqdm import tqdm

    units = readers.load_units(engine, settings.province_code)
    try:
        request = build_request(args.start, args.end, settings.province_code, set(units["code"]),
                                unit_codes=split_list(args.units), fields=split_list(args.fields), by=args.by,
                                fmt=args.fmt, lang=args.lang)
    except ExportInputError as err:
        print(f"Cannot export: {err}", file=sys.stderr)
        return 2
    try:
        check_target(args.out, args.force)  # before any work: a wrong path fails at once
    except (FileExistsError, FileNotFoundError, PermissionError, ValueError) as err:
        print(f"Cannot export: {err}", file=sys.stderr)
        return 2
    with tqdm(total=total_steps(request), desc=f"Xuất {args.out.name}", unit=" phần", file=sys.stderr) as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        try:
            rows = write_file_atomically(engine, request, args.out, overwrite=args.force, units=units,
                                         reporter=province(settings.province_code).name,
                                         generated_at=now or dt.datetime.now(), progress=progress)
        except (FileExistsError, FileNotFoundError, PermissionError, IsADirectoryError, ValueError) as err:
            bar.close()
            print(f"Cannot export: {err}", file=sys.stderr)
            return 2
    print(f"Wrote {rows:,} rows to {args.out}", file=sys.stderr)
    return 0


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; write it as YYYY-MM-DD, e.g. 2025-07-01") from None
