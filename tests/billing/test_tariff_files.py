"""Bad tariff files stop with an error naming the file and the field; good ones load."""

from __future__ import annotations

import pytest

from gateway.billing import TariffError
from gateway.billing.tariff import compute_bill
from gateway.billing.tariff_book import TariffBook
from gateway.billing.tariff_file import load_tariff_file, parse_tariff_text

GOOD = """
name = "my-state"
effective_from = 2025-04-01
source = "XERC order 12/2025"
cycle_months = 1

[[energy]]
method = "telescopic"
slabs = [
  { up_to = 100, rate = 2.50 },
  { rate = 5.00 },
]

[[charges]]
id = "duty"
label = "Duty"
percent = 5
on = ["energy"]
"""


def test_good_file_loads_and_bills(tmp_path):
    path = tmp_path / "my-state.toml"
    path.write_text(GOOD)
    t = load_tariff_file(path)
    assert t.name == "my-state" and t.cycle_months == 1 and str(t.effective_from) == "2025-04-01"
    assert f"{compute_bill(t, 150).total:.2f}" == "525.00"  # 250 + 250 = 500; +5 %


@pytest.mark.parametrize(
    "old,new,message",
    [
        ('name = "my-state"\n', "", r"name: missing"),
        ('name = "my-state"', 'name = "My State"', r"name = 'My State': expected lower-case letters"),
        (
            "effective_from = 2025-04-01",
            'effective_from = "April 2025"',
            r"effective_from = 'April 2025': expected a date",
        ),
        ('source = "XERC order 12/2025"\n', "", r"source: missing"),
        ("cycle_months = 1", "cycle_months = 3", r"cycle_months = 3: expected one of 1, 2"),
        ("cycle_months = 1", 'cycle_months = 1\ncurrency = "USD"', r"currency = 'USD': expected one of 'INR'"),
        ("rate = 2.50", "rate = -2.50", r"energy\[0\]\.slabs\[0\]\.rate = '-2.50': expected a number of at least 0"),
        ("rate = 5.00", 'rate = "5"', r"energy\[0\]\.slabs\[1\]\.rate = '5': expected a number"),
        (
            "{ rate = 5.00 }",
            "{ up_to = 100, rate = 5.00 }",
            r"energy\[0\]\.slabs\[1\]\.up_to = '100': expected more than",
        ),
        (
            "{ rate = 5.00 }",
            "{ up_to = 200, rate = 5.00 }",
            r"energy\[0\]\.slabs\[1\]: the last slab must have no up_to",
        ),
        ("{ up_to = 100, rate = 2.50 }", "{ rate = 2.50 }", r"energy\[0\]\.slabs\[0\]\.up_to: missing"),
        (
            'method = "telescopic"',
            'method = "flat"',
            r"energy\[0\]\.method = 'flat': expected one of 'telescopic', 'non_telescopic'",
        ),
        (
            'method = "telescopic"',
            'method = "telescopic"\nmax_units = 500',
            r"energy\[0\]\.max_units = '500': expected no max_units on the last",
        ),
        (
            "{ up_to = 100, rate = 2.50 }",
            "{ upto = 100, rate = 2.50 }",
            r"energy\[0\]\.slabs\[0\]\.upto: unknown field",
        ),
        ("cycle_months = 1", "cycle_months = 1\nrates = []", r"rates: unknown field; known fields: name"),
        (
            'on = ["energy"]',
            'on = ["fixed", "vat"]',
            r"charges\[0\]\.on = \['fixed', 'vat'\]: expected lines defined earlier .*not 'vat'",
        ),
        ('id = "duty"', 'id = "energy"', r"charges\[0\]\.id = 'energy': expected an id not used before"),
        ("percent = 5", "percent = true", r"charges\[0\]\.percent = True: expected a number"),
        ("slabs = [", "slabs = [[", r"not valid TOML"),
    ],
)
def test_bad_file_names_the_field(tmp_path, old, new, message):
    assert old in GOOD
    path = tmp_path / "bad.toml"
    path.write_text(GOOD.replace(old, new, 1))
    with pytest.raises(TariffError, match=message) as err:
        load_tariff_file(path)
    assert str(err.value).startswith(str(path))


def test_more_structures_are_checked():
    base = GOOD.split("[[energy]]")[0]
    with pytest.raises(TariffError, match=r"energy: missing"):
        parse_tariff_text(base)
    two = (
        base
        + """
[[energy]]
method = "telescopic"
slabs = [{ up_to = 100, rate = 1 }]
[[energy]]
method = "telescopic"
slabs = [{ rate = 2 }]
"""
    )
    with pytest.raises(TariffError, match=r"energy\[0\]\.max_units: missing"):
        parse_tariff_text(two)
    with pytest.raises(TariffError, match=r"energy\[0\]\.slabs\[0\]: the last slab must have no up_to .*or reach"):
        parse_tariff_text(
            two.replace(
                'method = "telescopic"\nslabs = [{ up_to = 100',
                'max_units = 200\nmethod = "telescopic"\nslabs = [{ up_to = 100',
                1,
            )
        )
    fixed = (
        GOOD
        + """
[[fixed]]
basis = "per_kw"
per = "month"
bands = [{ up_to_kw = 2, rate_per_kw = 20 }, { up_to_kw = 5, rate_per_kw = 50 }]
"""
    )
    with pytest.raises(TariffError, match=r"fixed\[0\]\.bands\[1\]: the last band must have no up_to_kw"):
        parse_tariff_text(fixed)
    with pytest.raises(TariffError, match=r"fixed\[0\]\.per = 'year': expected one of 'month', 'cycle'"):
        parse_tariff_text(fixed.replace('per = "month"', 'per = "year"'))
    sub = (
        GOOD
        + """
[[subsidies]]
percent = 150
max_units = 200
on = "all"
"""
    )
    with pytest.raises(TariffError, match=r"subsidies\[0\]\.percent = '150': expected a percentage from 0 to 100"):
        parse_tariff_text(sub)


def test_book_refuses_two_files_for_the_same_version(tmp_path):
    (tmp_path / "a.toml").write_text(GOOD)
    (tmp_path / "b.toml").write_text(GOOD)
    with pytest.raises(
        TariffError, match=r"b.toml: tariff my-state effective 2025-04-01 is already defined in .*a.toml"
    ):
        TariffBook.load(tmp_path)


def test_book_lookup_errors(tmp_path):
    book = TariffBook.load()
    with pytest.raises(
        TariffError,
        match=r"unknown tariff 'goa': give one of delhi-domestic, kerala-domestic, kerala-domestic-solar, tn-domestic",
    ):
        book.resolve("goa")
    with pytest.raises(TariffError, match=r"cannot read tariff file .*nope.toml"):
        book.resolve(str(tmp_path / "nope.toml"))
    with pytest.raises(TariffError, match=r"tariff folder .* does not exist"):
        TariffBook.load(tmp_path / "missing")


def test_the_worked_example_in_docs_tariffs_md():
    """docs/tariffs.md's worked example, read from the doc itself, bills as the doc says."""
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "docs" / "tariffs.md").read_text()
    text = doc.split("```toml\n", 1)[1].split("```", 1)[0]
    t = parse_tariff_text(text, "docs/tariffs.md")
    assert f"{compute_bill(t, 350).total:.2f}" == "1534.05"
    assert f"{compute_bill(t, 50).total:.2f}" == "0.00" and compute_bill(t, 51).total > 0
