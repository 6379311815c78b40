"""Which keys of the dashboard's English strings (local_ui/static/strings/en.js) a translation lacks.

    python scripts/i18n_missing.py          # every translation beside en.js (ta.js, hi.js, ...)
    python scripts/i18n_missing.py ta       # Tamil only

For each language it prints the missing keys as lines ready to paste into its file, with the
English text to translate, then the keys English no longer has and the keys whose {placeholders}
differ from English. Exit status: 0 all in step, 1 something to do, 2 a file it cannot read.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

STRINGS = Path(__file__).resolve().parents[1] / "local_ui" / "static" / "strings"
ENTRY = re.compile(r'^\s*([a-z][a-z0-9_]*): ("(?:[^"\\]|\\.)*"),\s*$')
PLACEHOLDER = re.compile(r"\{(\w+)\}")


class StringsError(Exception):
    """A strings file this reader cannot take, with the file and line."""


def read_strings(path: Path) -> dict[str, str]:
    """The key -> text table of a strings file: `export default {`, then one `key: "text",` a line.

    Blank lines and `//` comments may come between entries; anything else (a key twice, a
    single-quoted or multi-line string) raises StringsError naming the line.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise StringsError(f"{path}: cannot read: {err}") from None
    table: dict[str, str] = {}
    inside = False
    for no, line in enumerate(lines, 1):
        bare = line.strip()
        if not bare or bare.startswith("//"):
            continue
        if not inside:
            if bare != "export default {":
                raise StringsError(f"{path}:{no}: expected `export default {{` before the strings, found {bare!r}")
            inside = True
            continue
        if bare == "};":
            return table
        m = ENTRY.match(line)
        if not m:
            raise StringsError(f'{path}:{no}: expected `key: "text",` on one line, found {bare!r}')
        key, text = m.group(1), json.loads(m.group(2))
        if key in table:
            raise StringsError(f"{path}:{no}: key {key} given twice")
        table[key] = text
    raise StringsError(f"{path}: no closing `}};`")


def placeholders(text: str) -> list[str]:
    """The {names} in a string, sorted (a name used twice counts twice)."""
    return sorted(PLACEHOLDER.findall(text))


def compare(en: dict[str, str], other: dict[str, str]) -> tuple[list[str], list[str], list[str]]:
    """(missing, extra, placeholders differing) keys of `other` against English, in en.js's order."""
    missing = [k for k in en if k not in other]
    extra = [k for k in other if k not in en]
    differ = [k for k in en if k in other and placeholders(en[k]) != placeholders(other[k])]
    return missing, extra, differ


def report(code: str, en: dict[str, str], other: dict[str, str]) -> list[str]:
    """The lines printed for one language; empty when it is in step with English."""
    missing, extra, differ = compare(en, other)
    out: list[str] = []
    if missing:
        out.append(f"// {code}.js lacks {len(missing)} key(s); translate the English and paste at the end:")
        out += [f"  {k}: {json.dumps(en[k], ensure_ascii=False)}," for k in missing]
    if extra:
        out.append(f"// {code}.js has {len(extra)} key(s) English no longer has; delete them: {', '.join(extra)}")
    for k in differ:
        out.append(f"// {code}.js {k}: placeholders {placeholders(other[k])}, English has {placeholders(en[k])}")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("languages", nargs="*", help="language codes (file names under strings/); default: all")
    ap.add_argument("--dir", type=Path, default=STRINGS, help="the strings folder (default: %(default)s)")
    args = ap.parse_args(argv)
    codes = args.languages or sorted(p.stem for p in args.dir.glob("*.js") if p.stem != "en")
    try:
        en = read_strings(args.dir / "en.js")
        tables = {code: read_strings(args.dir / f"{code}.js") for code in codes}
    except StringsError as err:
        print(f"i18n_missing: {err}", file=sys.stderr)
        return 2
    lines = [line for code in codes for line in report(code, en, tables[code])]
    print("\n".join(lines) if lines else f"{', '.join(codes) or 'no translation'}: every key of en.js, nothing else")
    return 1 if lines else 0


if __name__ == "__main__":
    sys.exit(main())
