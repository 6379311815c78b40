"""The dashboard's translations (local_ui/static/strings/ta.js, hi.js) against English (en.js), the
helper that lists what a translation lacks (scripts/i18n_missing.py), and the gateway's default
language (`[ui] language`, sent in GET /session)."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STRINGS = ROOT / "local_ui" / "static" / "strings"
SCRIPT = ROOT / "scripts" / "i18n_missing.py"
TRANSLATIONS = ("ta", "hi")
# Script a translation is written in, and digits that must never appear (amounts stay ASCII).
SCRIPT_RANGE = {"ta": "[\u0b80-\u0bff]", "hi": "[\u0900-\u097f]"}
NATIVE_DIGITS = re.compile("[\u0be6-\u0bef\u0966-\u096f]")


def _load_script():
    spec = importlib.util.spec_from_file_location("i18n_missing", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


i18n = _load_script()


@pytest.fixture(scope="module")
def en():
    return i18n.read_strings(STRINGS / "en.js")


@pytest.mark.parametrize("code", TRANSLATIONS)
def test_every_key_of_english_and_nothing_else(en, code):
    other = i18n.read_strings(STRINGS / f"{code}.js")
    missing, extra, differ = i18n.compare(en, other)
    assert missing == [], f"{code}.js lacks {missing}: `python scripts/i18n_missing.py {code}` lists them"
    assert extra == [], f"{code}.js has keys English does not: {extra}"
    assert differ == [], f"{code}.js uses other {{placeholders}} than English in {differ}"
    assert list(other) == list(en)  # the same order, so a side-by-side diff lines up


@pytest.mark.parametrize("code", TRANSLATIONS)
def test_no_empty_text_native_digits_or_untranslated_sentence(en, code):
    other = i18n.read_strings(STRINGS / f"{code}.js")
    assert [k for k, v in other.items() if not v.strip()] == []
    assert [k for k, v in other.items() if NATIVE_DIGITS.search(v)] == []  # ₹1,23,456.78 in every language
    # Every sentence of English words is translated: what may stay as it is has no letters besides
    # names (powergw, UPI, kWh) and placeholders.
    same = [k for k in en if other.get(k) == en[k] and re.search(r"[a-z]{4,}", re.sub(r"\{\w+\}", "", en[k]))]
    assert same == ["app_name"], same
    written = [k for k, v in other.items() if re.search(SCRIPT_RANGE[code], v)]
    assert len(written) >= 0.95 * len(other)


def write_strings(folder: Path, name: str, entries: dict[str, str], tail: str = "") -> None:
    lines = ["// test strings", "export default {"] + [
        f"  {k}: {json.dumps(v, ensure_ascii=False)}," for k, v in entries.items()
    ]
    (folder / f"{name}.js").write_text("\n".join(lines) + "\n" + tail + "};\n", encoding="utf-8")


def run_script(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60)


def test_script_on_the_real_files_and_on_a_lagging_translation(tmp_path):
    done = run_script()
    assert done.returncode == 0 and done.stdout.strip() == "hi, ta: every key of en.js, nothing else"

    write_strings(tmp_path, "en", {"greet": "Hello {user}", "bye": "Bye", "units": "{n} units", "new_key": "New text"})
    write_strings(tmp_path, "ta", {"greet": "வணக்கம் {user}", "bye": "போய் வருக", "units": "{n} யூனிட்", "gone": "x"})
    write_strings(tmp_path, "hi", {"greet": "नमस्ते {name}", "bye": "अलविदा", "units": "{n} यूनिट", "new_key": "नया"})
    out = run_script("--dir", str(tmp_path))
    assert out.returncode == 1, out
    lines = out.stdout.splitlines()
    assert lines == [
        "// hi.js greet: placeholders ['name'], English has ['user']",
        "// ta.js lacks 1 key(s); translate the English and paste at the end:",
        '  new_key: "New text",',
        "// ta.js has 1 key(s) English no longer has; delete them: gone",
    ]
    # The listed lines are what the file takes: pasted in, only the stale key is left to do.
    text = (tmp_path / "ta.js").read_text(encoding="utf-8").replace("};\n", lines[2] + "\n};\n")
    (tmp_path / "ta.js").write_text(text, encoding="utf-8")
    again = run_script("--dir", str(tmp_path), "ta")
    assert again.returncode == 1 and again.stdout.splitlines() == [lines[3]]


@pytest.mark.parametrize(
    ("tail", "reason"),
    [
        ('  greet: "again",\n', "key greet given twice"),
        ("  bye: 'single quotes',\n", 'expected `key: "text",` on one line'),
        ('  long: "one line\n', 'expected `key: "text",` on one line'),
    ],
)
def test_script_refuses_a_file_it_cannot_read_naming_the_line(tmp_path, tail, reason):
    write_strings(tmp_path, "en", {"greet": "Hello", "bye": "Bye"})
    write_strings(tmp_path, "ta", {"greet": "வணக்கம்", "bye": "போய் வருக"}, tail=tail)
    out = run_script("--dir", str(tmp_path), "ta")
    assert out.returncode == 2 and out.stdout == ""
    assert f"ta.js:5: {reason}" in out.stderr, out.stderr


def test_script_names_a_missing_file_and_an_unclosed_table(tmp_path):
    write_strings(tmp_path, "en", {"greet": "Hello"})
    out = run_script("--dir", str(tmp_path), "xx")
    assert out.returncode == 2 and "xx.js: cannot read" in out.stderr
    (tmp_path / "ta.js").write_text('export default {\n  greet: "வணக்கம்",\n', encoding="utf-8")
    out = run_script("--dir", str(tmp_path), "ta")
    assert out.returncode == 2 and "ta.js: no closing `};`" in out.stderr


def test_gateway_language_in_the_session(app, tmp_path, clock):
    from gateway.config import parse_config
    from local_ui import create_app
    from tests.support.dashboard import ADMIN_PASSWORD

    assert app.test_client().get("/api/v1/session").get_json()["language"] == "en"  # the default
    tamil = create_app(
        tmp_path / "other.db",
        config=parse_config({"ui": {"language": "ta"}}),
        clock=clock,
        admin_password=ADMIN_PASSWORD,
        registry_root=tmp_path / "models",
    )
    assert tamil.test_client().get("/api/v1/session").get_json()["language"] == "ta"  # before logging in too


@pytest.mark.parametrize("value", ["fr", "Tamil", "", 1])
def test_unknown_language_stops_start_up_naming_the_key(value):
    from gateway.config import ConfigError, parse_config

    with pytest.raises(ConfigError, match=r"\[ui\] language = .*expected.*'en'.*'ta'.*'hi'") as err:
        parse_config({"ui": {"language": value}})
    assert repr(value) in str(err.value)
