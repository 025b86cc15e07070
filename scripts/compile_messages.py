"""Compile locale/*/LC_MESSAGES/*.po into .mo files, with GNU msgfmt or, without it, Babel.

A new machine may have only Python, so set-up must not depend on gettext being installed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    po_files = sorted((ROOT / "locale").glob("*/LC_MESSAGES/*.po"))
    msgfmt = shutil.which("msgfmt")
    for po in po_files:
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        if msgfmt:
            subprocess.run([msgfmt, "--check-format", "-o", str(mo), str(po)], check=True)  # noqa: S603
        else:
            from babel.messages.mofile import write_mo
            from babel.messages.pofile import read_po

            with po.open("rb") as f:
                catalog = read_po(f)
            with mo.open("wb") as f:
                write_mo(f, catalog)
    return 0


if __name__ == "__main__":
    sys.exit(main())
