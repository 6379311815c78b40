"""Theft model: calendar, features, attacks, training/export parity, onnxruntime-only scoring, registry, CLI."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from edge_model import EdgeModelError
from edge_model.attacks import KINDS, THEFT, inject
from gateway.public_holidays import HolidayCalendar, HolidayDataError, parse_overrides
from edge_model.dataset import CHECK_SEEDS, DatasetSpec, build_households, simulate_household, to_examples
from edge_model.features import COLUMN, FEATURE_NAMES, N_FEATURES, as_model_input, build_features
from edge_model.registry import SHIPPED_MODEL_DIR, ModelRegistry
from edge_model.scoring import Scorer

SMALL = DatasetSpec(households=16, days=84)


@pytest.fixture(scope="module")
def small_model():
    """A small forest, its ONNX export and metadata, trained in a few seconds."""
    from edge_model.pipeline import CheckSet, train_model
    from edge_model.training import ForestParams

    onnx_bytes, metadata = train_model(SMALL, ForestParams(n_trees=12, max_depth=12), CheckSet(households=4, days=112), progress=False)
    return onnx_bytes, metadata


# -- calendar ---------------------------------------------------------------------------------


def test_tamil_nadu_overrides_drop_northern_holidays_and_add_local_ones():
    tn = HolidayCalendar("TN")
    assert not tn.is_holiday(dt.date(2024, 3, 25))  # Holi
    assert not tn.is_holiday(dt.date(2025, 2, 26))  # Maha Shivaratri
    assert tn.name(dt.date(2024, 1, 25)) == "Thai Poosam"
    assert tn.name(dt.date(2024, 4, 9)) == "Telugu New Year"
    assert tn.name(dt.date(2024, 1, 15)) == "Pongal"
    assert tn.name(dt.date(2024, 4, 14)) == "Dr. B. R. Ambedkar's Birthday; Tamil New Year"


def test_states_without_overrides_follow_the_holidays_package():
    import holidays

    ka = HolidayCalendar("KA")
    expected = holidays.India(subdiv="KA", years=2024)
    for day in (dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(366)):
        assert ka.is_holiday(day) == (day in expected)


def test_a_bad_override_file_names_the_problem():
    with pytest.raises(HolidayDataError, match="unknown key"):
        parse_overrides("[TN]\nremvoe = ['Holi']\n")
    with pytest.raises(HolidayDataError, match="needs date"):
        parse_overrides("[TN]\nadd = [{ date = 'soon', name = 'x' }]\n")


# -- features ---------------------------------------------------------------------------------


def _household(seed=CHECK_SEEDS, days=42, theft=None, benign=None, **kw):
    from gateway.public_holidays import load_overrides

    return simulate_household(seed, days, theft, benign, load_overrides(), **kw)


def test_features_are_float64_rows_and_cast_once_to_float32():
    h = _household()
    assert h.features.shape == (42 * 24, N_FEATURES) == (42 * 24, len(FEATURE_NAMES))
    assert h.features.dtype == np.float64 and np.all(np.isfinite(h.features))
    x32 = as_model_input(h.features)
    assert x32.dtype == np.float32 and x32.flags.c_contiguous
    with pytest.raises(EdgeModelError):
        as_model_input(h.features[:, :5])


def test_features_use_only_the_past():
    h = _household()
    calendar = HolidayCalendar(h.state)
    changed, floor = h.power_w.copy(), h.floor_w.copy()
    changed[30 * 24 :] += 1_500.0
    floor[30 * 24 :] += 1_500.0
    a = build_features(h.power_w, h.first_date, calendar, floor_w=h.floor_w)
    b = build_features(changed, h.first_date, calendar, floor_w=floor)
    assert np.array_equal(a[: 30 * 24], b[: 30 * 24])
    assert not np.array_equal(a[30 * 24 :], b[30 * 24 :])


def test_calendar_and_baseline_columns():
    h = _household(days=35)
    f = h.features
    assert list(f[:24, COLUMN["hour"]]) == list(range(24))
    weekday = (h.first_date + dt.timedelta(days=3)).weekday()
    assert f[3 * 24, COLUMN["weekday"]] == weekday
    # The hour-of-day baseline is the median of the previous 7 days at the same hour.
    i = 20 * 24 + 13
    expected = np.median(h.power_w[[i - 24 * k for k in range(1, 8)]])
    assert f[i, COLUMN["hod_base_w"]] == pytest.approx(expected)
    assert f[i, COLUMN["hod_dev_w"]] == pytest.approx(h.power_w[i] - expected)


def test_a_night_tap_is_a_new_high_for_the_night_core():
    h = _household(days=35)
    tapped, _, _ = inject(h.clean_w, "tap_night", 28, np.random.default_rng(5), days=4, magnitude_w=800.0)
    f = build_features(tapped, h.first_date, HolidayCalendar("TN"), floor_w=h.floor_w)
    night = 28 * 24 + 4  # 04:00 after the first tapped night
    assert f[night, COLUMN["night_core_rank_14"]] == 0.0  # higher than any of the 14 nights before
    assert f[night, COLUMN["night_core_over_lag_w"]] > 600
    assert np.median(f[14 * 24 : 28 * 24, COLUMN["night_core_over_lag_w"]]) < 100  # AC nights reach 940 W here


def test_features_need_whole_days():
    with pytest.raises(EdgeModelError, match="whole local days"):
        build_features(np.ones(30), dt.date(2024, 1, 1), HolidayCalendar("TN"), floor_w=np.ones(30))
    with pytest.raises(EdgeModelError, match="floor_w"):
        build_features(np.ones(48), dt.date(2024, 1, 1), HolidayCalendar("TN"), floor_w=np.ones(24))


def test_the_floor_is_the_lowest_five_minute_mean_and_a_tap_lifts_it_while_an_ac_does_not():
    from edge_model.attacks import floor_after
    from edge_model.series import hourly_mean_and_floor

    # One hour at 1 s: 200 W, with a 1.5 kW compressor on for 20 minutes of it (two 10-minute runs).
    ts = 1_704_047_400.0 + np.arange(3_600)  # 2024-01-01 00:00 IST
    power = np.full(3_600, 200.0)
    power[300:900] += 1_500.0
    power[2_100:2_700] += 1_500.0
    first, mean, floor = hourly_mean_and_floor(np.concatenate([ts, ts + 86_400 - 1]), np.concatenate([power, power]))
    assert first == dt.date(2024, 1, 1) and len(mean) == 48
    assert mean[0] == pytest.approx(700.0) and floor[0] == pytest.approx(200.0)
    assert np.isnan(mean[1]) and np.isnan(floor[1])  # no readings in that hour
    # Injections move the floor as the load would: a steady tap by its power, an intermittent one not at all.
    h = _household(days=35)
    rng = np.random.default_rng(3)
    night, mask, _ = inject(h.power_w, "tap_night", 28, rng, days=4, magnitude_w=400.0)
    lifted = floor_after("tap_night", h.power_w, night, h.floor_w, rng)
    assert np.allclose((lifted - h.floor_w)[mask], 400.0) and np.array_equal(lifted[~mask], h.floor_w[~mask])
    part, mask, _ = inject(h.power_w, "tap_intermittent", 28, rng, days=4, magnitude_w=400.0)
    assert np.array_equal(floor_after("tap_intermittent", h.power_w, part, h.floor_w, rng), np.minimum(h.floor_w, part))
    flat, mask, _ = inject(h.power_w, "h5", 28, rng, days=1)
    assert np.array_equal(floor_after("h5", h.power_w, flat, h.floor_w, rng)[mask], flat[mask])
    for kind in KINDS:
        y, _, _ = inject(h.power_w, kind, 28, np.random.default_rng(4), days=3)
        moved = floor_after(kind, h.power_w, y, h.floor_w, np.random.default_rng(4))
        assert np.all(moved <= y + 1e-9) and np.all(moved >= 0)  # never above its hour's mean


def test_a_tap_lifts_the_floor_features_an_ac_night_hardly_does():
    h = _household(seed=CHECK_SEEDS + 3, days=42, theft="tap_night", theft_start_day=35, magnitude_w=300.0, theft_days=7)
    ac = _household(seed=CHECK_SEEDS + 3, days=42, benign="new_ac_heatwave")
    tapped = h.theft
    assert np.median(h.features[tapped, COLUMN["floor_dev_w"]]) > 200
    lifted_by_ac = ac.benign & (ac.power_w - ac.clean_w > 300)
    assert lifted_by_ac.sum() > 24
    assert np.median(ac.features[lifted_by_ac, COLUMN["floor_dev_w"]]) < 0.5 * np.median((ac.power_w - ac.clean_w)[lifted_by_ac])


# -- attacks ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_injection_changes_only_its_span_and_is_labelled(kind):
    x = _household(days=35).clean_w
    y, mask, label = inject(x, kind, 14, np.random.default_rng(1), days=5)
    assert label.kind == kind and label.category == KINDS[kind].category
    assert label.start_h == 14 * 24
    assert np.array_equal(y[: 14 * 24], x[: 14 * 24])
    assert mask.any() and not mask[: 14 * 24].any()
    assert np.all(y >= 0)
    if KINDS[kind].category == THEFT:
        assert not mask[label.end_h :].any()
        assert np.array_equal(y[label.end_h :], x[label.end_h :])


def test_jokar_attacks_do_what_the_paper_says():
    x = _household(days=21).clean_w
    rng = np.random.default_rng(3)
    day = slice(14 * 24, 15 * 24)
    h1, _, _ = inject(x, "h1", 14, rng, days=1)
    ratio = h1[day] / x[day]
    assert np.allclose(ratio, ratio[0]) and 0.1 <= ratio[0] <= 0.8
    h2, _, _ = inject(x, "h2", 14, rng, days=1)
    assert 4 <= np.sum(h2[day] == 0) <= 24
    h3, _, _ = inject(x, "h3", 14, rng, days=1)
    assert np.all((h3[day] / x[day] >= 0.1 - 1e-12) & (h3[day] / x[day] <= 0.8 + 1e-12))
    h5, _, _ = inject(x, "h5", 14, rng, days=1)
    assert np.allclose(h5[day], x[day].mean())
    h6, _, _ = inject(x, "h6", 14, rng, days=1)
    assert np.array_equal(h6[day], x[day][::-1])


def test_tapping_adds_delta_only_where_labelled():
    x = _household(days=21).clean_w
    y, mask, label = inject(x, "tap_night", 10, np.random.default_rng(5), days=4, magnitude_w=800.0)
    assert np.allclose(y[mask] - x[mask], 800.0)
    assert np.array_equal(y[~mask], x[~mask])
    hours = set((np.flatnonzero(mask) % 24).tolist())
    assert hours <= set(range(20, 24)) | set(range(0, 7))
    assert label.magnitude_w == 800.0


def test_new_persistent_loads_are_labelled_alert_for_training_and_short_ones_normal():
    from gateway.public_holidays import load_overrides

    overrides = load_overrides()
    ev = simulate_household(CHECK_SEEDS + 1, 42, None, "ev_charger", overrides)
    guests = simulate_household(CHECK_SEEDS + 2, 42, None, "guests", overrides)
    keep = slice(7 * 24, None)
    assert np.array_equal(to_examples([ev]).y, ev.benign[keep]) and ev.benign.any()
    assert not to_examples([ev], persistent_benign="normal").y.any()
    assert not to_examples([guests]).y.any() and guests.benign.any()


def test_the_training_mix_leans_towards_tapping_while_check_and_evaluation_sets_keep_theirs():
    from edge_model.attacks import TAP_KINDS
    from edge_model.dataset import TRAINING_SPEC, draw_kinds

    seeds = range(2_000)
    alike = [draw_kinds(s, DatasetSpec()) for s in seeds]
    leaning = [draw_kinds(s, TRAINING_SPEC) for s in seeds]

    def tap_share(draws):
        thefts = [t for t, _ in draws if t is not None]
        return sum(t in TAP_KINDS for t in thefts) / len(thefts)

    assert 0.35 < tap_share(alike) < 0.45  # 4 of 10 kinds
    assert 0.57 < tap_share(leaning) < 0.68  # 4 x 2.5 of 4 x 2.5 + 6
    # The same households are theft households either way; only which theft kind changes.
    assert [t is None for t, _ in alike] == [t is None for t, _ in leaning]
    # tap_weight 1 is exactly the draw the fixed check set was built with before the field existed.
    rng_draws = []
    for s in range(50):
        rng = np.random.default_rng([s, 0x1D])
        from edge_model.attacks import BENIGN_KINDS, THEFT_KINDS

        theft = str(rng.choice(THEFT_KINDS)) if rng.random() < 0.6 else None
        benign = str(rng.choice(BENIGN_KINDS)) if rng.random() < 0.35 else None
        rng_draws.append((theft, benign))
    assert rng_draws == alike[:50]
    for bad in (dict(tap_weight=0.0), dict(tap_weight=-1.0), dict(households=0), dict(days=7)):
        with pytest.raises(EdgeModelError, match="tap weight above 0|at least 1 household|more than 7 days"):
            DatasetSpec(**bad)


def test_bad_training_and_learning_settings_are_refused_on_the_command_line(capsys):
    from gateway.cli import main

    assert main(["model", "train", "--tap-weight", "0", "--registry", "/nonexistent/models"]) == 2
    assert "tap weight above 0 (got 0.0)" in capsys.readouterr().err
    assert main(["model", "evaluate-learning", "--households", "-1"]) == 2
    assert "measure at least one household" in capsys.readouterr().err
    assert main(["model", "evaluate-learning", "--households", "1", "--trees", "0"]) == 2
    assert "at least 1 tree" in capsys.readouterr().err


# -- training, export, parity -----------------------------------------------------------------


def test_onnx_export_scores_like_sklearn_on_ten_thousand_rows(small_model):
    _, metadata = small_model
    parity = metadata["metrics"]["parity"]
    assert parity["rows"] >= 10_000
    assert parity["label_agreement"] == 1.0
    assert parity["max_abs_dp"] <= 1e-6


def test_parity_check_directly_against_a_fresh_forest():
    from edge_model.training import ForestParams, export_onnx, parity_check, train_forest

    data = to_examples(build_households(DatasetSpec(households=6, days=84)))
    assert len(data) >= 10_000
    forest = train_forest(data.X, data.y, data.weight, ForestParams(n_trees=6, max_depth=12), progress=False)
    result = parity_check(forest, export_onnx(forest), data.X)
    assert result == {"rows": len(data), "label_agreement": 1.0, "max_abs_dp": pytest.approx(0.0, abs=1e-6)}


def test_metadata_says_what_the_model_is(small_model):
    _, metadata = small_model
    from edge_model.features import FEATURES_VERSION

    assert metadata["features_version"] == FEATURES_VERSION
    assert metadata["feature_names"] == list(FEATURE_NAMES)
    assert 0 < metadata["threshold"] < 1
    assert metadata["training"]["rows"] > 0 and metadata["training"]["theft_rows"] > 0
    assert {"scikit-learn", "skl2onnx", "onnxruntime", "numpy"} <= set(metadata["libraries"])
    assert metadata["metrics"]["check_set"]["roc_auc"] > 0.6  # a tiny forest on 16 homes; the real figures come from `model evaluate`


# -- scoring with onnxruntime only ------------------------------------------------------------


def test_the_scoring_path_never_imports_sklearn():
    code = textwrap.dedent(
        f"""
        import sys
        import numpy as np
        from gateway.public_holidays import HolidayCalendar
        from edge_model.features import build_features
        from edge_model.scoring import Scorer
        from edge_model.alerting import AlertPolicy, decide
        import edge_model.store_job, edge_model.feedback, edge_model.series, edge_model.registry
        scorer = Scorer({str(SHIPPED_MODEL_DIR)!r})
        x = 200 + 50 * np.sin(np.arange(21 * 24) / 24 * 2 * np.pi)
        import datetime as dt
        p = scorer.score(build_features(x, dt.date(2024, 5, 1), HolidayCalendar("TN"), floor_w=0.5 * x))
        assert p.shape == (21 * 24,)
        bad = sorted(m for m in sys.modules if m.split(".")[0] in ("sklearn", "skl2onnx", "scipy"))
        print(bad)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_the_shipped_model_is_small_current_and_catches_a_big_tap():
    scorer = Scorer(SHIPPED_MODEL_DIR)
    assert (SHIPPED_MODEL_DIR / "model.onnx").stat().st_size < 10e6
    assert scorer.metadata["metrics"]["parity"]["max_abs_dp"] <= 1e-6
    from edge_model.alerting import AlertPolicy, decide
    from edge_model.evaluation import windows_for

    h = _household(seed=CHECK_SEEDS + 5, days=49, theft="tap_constant", theft_start_day=35, magnitude_w=1_000.0, theft_days=14)
    alerts = decide(windows_for(h, scorer.score(h.features)), AlertPolicy(threshold=scorer.threshold))
    first = [a for a in alerts if a.index >= 35 * 24]
    assert first and (first[0].index - 35 * 24) / 24 <= 3
    assert "+" in first[0].message and "usual" in first[0].message


def test_a_model_for_other_features_is_refused(tmp_path):
    (tmp_path / "model.onnx").write_bytes((SHIPPED_MODEL_DIR / "model.onnx").read_bytes())
    meta = json.loads((SHIPPED_MODEL_DIR / "metadata.json").read_text())
    (tmp_path / "metadata.json").write_text(json.dumps({**meta, "features_version": 999}))
    with pytest.raises(EdgeModelError, match="features v999"):
        Scorer(tmp_path)


# -- registry, retrain, rollback --------------------------------------------------------------


def test_registry_versions_promotion_and_rollback(tmp_path, small_model):
    onnx_bytes, metadata = small_model
    registry = ModelRegistry(tmp_path / "models")
    assert registry.current_dir() == SHIPPED_MODEL_DIR  # a fresh install scores with the shipped model
    v1 = registry.add(onnx_bytes, metadata)
    registry.promote(v1)
    v2 = registry.add(onnx_bytes, {**metadata, "threshold": 0.9})
    assert registry.current() == v1  # added is not promoted
    registry.promote(v2)
    assert registry.current() == v2 and registry.metadata()["threshold"] == 0.9
    assert registry.rollback() == v1 and registry.current() == v1
    assert registry.versions() == [v1, v2]  # nothing deleted
    with pytest.raises(EdgeModelError, match="no model version"):
        registry.rollback("v0099")
    v3 = registry.add(onnx_bytes, {**metadata, "features_version": 1})
    registry.promote(v3)
    assert registry.current_dir() == SHIPPED_MODEL_DIR  # after an upgrade: the shipped model until a retrain


def test_model_commands_find_the_daemons_registry_through_the_config(tmp_path, small_model, monkeypatch, capsys):
    """`powergw model rollback --config /etc/powergw/config.toml` acts on the registry the daemon
    scores with (beside its database), not on a registry in the caller's home directory."""
    from gateway.cli import main

    monkeypatch.delenv("POWERGW_DATA_DIR", raising=False)
    onnx_bytes, metadata = small_model
    registry = ModelRegistry(tmp_path / "data" / "models")
    v1, v2 = registry.add(onnx_bytes, metadata), registry.add(onnx_bytes, metadata)
    registry.promote(v1)
    registry.promote(v2)
    config = tmp_path / "config.toml"
    config.write_text(f'[gateway]\ndb = "{tmp_path / "data" / "powergw.db"}"\n')
    assert main(["model", "rollback", "--config", str(config)]) == 0
    assert registry.current() == v1
    assert main(["model", "rollback", "--config", str(tmp_path / "missing.toml")]) == 2
    assert "missing.toml does not exist" in capsys.readouterr().err
    assert registry.current() == v1


def test_a_regressed_candidate_is_not_promoted(tmp_path, small_model):
    from edge_model.pipeline import CheckSet, promote_if_no_regression
    from edge_model.training import ForestParams, export_onnx, train_forest

    onnx_bytes, metadata = small_model
    registry = ModelRegistry(tmp_path / "models")
    good = registry.add(onnx_bytes, metadata)
    registry.promote(good)
    # A stump trained on shuffled labels is the regression the check set must catch.
    data = to_examples(build_households(DatasetSpec(households=4, days=42)))
    shuffled = np.random.default_rng(0).permutation(data.y)
    stump = train_forest(data.X, shuffled, data.weight, ForestParams(n_trees=1, max_depth=1), progress=False)
    bad = registry.add(export_onnx(stump), {**metadata, "threshold": 0.5})
    promoted, comparison = promote_if_no_regression(registry, bad, CheckSet(households=2, days=56))
    assert not promoted and registry.current() == good
    assert comparison["candidate"]["roc_auc"] < comparison["current"]["roc_auc"]


def test_a_retrain_is_compared_with_the_model_in_use_when_the_current_one_is_damaged(tmp_path, small_model):
    """The current version's file was damaged on the SD card: scoring uses the shipped model, so a
    retrain is compared with that one (it used to fail on loading the damaged file, every week)."""
    from edge_model.pipeline import CheckSet, check_model, promote_if_no_regression

    onnx_bytes, metadata = small_model
    registry = ModelRegistry(tmp_path / "models")
    damaged = registry.add(onnx_bytes[: len(onnx_bytes) // 2], metadata)
    registry.promote(damaged)
    scorer, problem = registry.load_current()
    assert scorer.model_dir == registry.shipped and f"model {damaged} cannot be loaded" in problem
    candidate = registry.add(onnx_bytes, metadata)
    check = CheckSet(households=2, days=56)
    promoted, comparison = promote_if_no_regression(registry, candidate, check)
    assert comparison["current"] == check_model(registry.shipped, check, check.examples())
    assert registry.current() == (candidate if promoted else damaged)


def test_a_cut_off_registry_state_means_the_shipped_model_and_the_file_is_kept(tmp_path, small_model, caplog):
    onnx_bytes, metadata = small_model
    registry = ModelRegistry(tmp_path / "models")
    registry.promote(registry.add(onnx_bytes, metadata))
    for damaged in ('{"current": "v0001", "hist', "[]", '{"current": "v0001", "history": 3}'):
        (tmp_path / "models" / "state.json").write_text(damaged)
        (tmp_path / "models" / "state.json.unreadable").unlink(missing_ok=True)
        scorer, problem = registry.load_current()
        assert registry.current() is None and scorer.model_dir == registry.shipped and problem == ""
        assert (tmp_path / "models" / "state.json.unreadable").read_text() == damaged
    assert "state.json is unreadable" in caplog.text
    registry.promote("v0001")  # a later promotion writes a good state again
    assert registry.current() == "v0001" and registry.load_current()[0].model_dir == tmp_path / "models" / "v0001"


# -- CLI --------------------------------------------------------------------------------------


def test_cli_scores_a_csv_at_one_minute(tmp_path, capsys):
    from gateway.simulation.household import PRESETS, Household

    from edge_model import commands

    start = dt.datetime(2024, 4, 1, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30)))
    power = Household(PRESETS["medium"], seed=3).power_w(start, 10 * 1440, 60.0)
    lines = ["ts,power_w"] + [f"{(start + dt.timedelta(minutes=i)).isoformat()},{p:.1f}" for i, p in enumerate(power)]
    csv = tmp_path / "usage.csv"
    csv.write_text("\n".join(lines) + "\n")
    import argparse

    parser = argparse.ArgumentParser()
    commands.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["model", "score", "--input", str(csv), "--format", "json", "--registry", str(tmp_path / "none")])
    assert args.func(args) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 10 * 24
    assert set(rows[0]) == {"start", "score", "alert", "reason"}
    assert rows[0]["start"] == "2024-04-01T00:00:00+05:30"
    assert "still learning" in rows[0]["reason"] and rows[0]["alert"] is False
    assert all(0 <= r["score"] <= 1 for r in rows)


def test_training_examples_stream_households_into_float32_rows_like_stacking_them():
    from edge_model.dataset import training_examples

    spec = DatasetSpec(households=3, days=21, tap_weight=2.5)
    streamed = training_examples(spec)
    stacked = to_examples(build_households(spec))
    assert streamed.X.dtype == np.float32 and streamed.X.flags.c_contiguous
    assert np.array_equal(streamed.X, stacked.X) and np.array_equal(streamed.y, stacked.y)
    assert np.array_equal(streamed.weight, stacked.weight) and np.array_equal(streamed.group, stacked.group)
    assert len(streamed) == 3 * (21 - 7) * 24
    # A wrong row count keeps every row, in order, whichever way it is wrong.
    households = build_households(spec)
    for hint in (1, 100, len(streamed) + 50):
        again = to_examples(iter(households), rows_hint=hint)
        assert np.array_equal(again.X, stacked.X) and np.array_equal(again.y, stacked.y)


def test_a_theft_is_caught_on_its_own_hours_only_by_an_alert_with_a_hit_in_them():
    from edge_model.alerting import Alert
    from edge_model.evaluation import _first_alert_day

    def alert(i: int) -> Alert:
        return Alert(i, 0.0, 0.9, 0.5, (i - 2, i - 1, i), "", {})

    theft = np.zeros(48, dtype=bool)
    theft[28:34] = True
    alerts = [alert(10), alert(20), alert(30)]
    assert _first_alert_day(alerts, 15) == (20 - 15 + 1) / 24  # any alert after the start
    assert _first_alert_day(alerts, 15, about=theft) == (30 - 15 + 1) / 24  # the first one about the theft
    assert _first_alert_day(alerts[:2], 15, about=theft) is None


def test_ignore_section_counts_repeats_of_the_pattern_apart_from_every_later_alert():
    """After an Ignore, `pattern_repeats_*` count the alerts with most of their windows in the benign
    pattern (the test that chose the alert to Ignore); `repeat_alerts_*` every later alert, ordinary
    false alarms at other hours included."""
    from edge_model.alerting import AlertPolicy
    from edge_model.evaluation import EvalSpec, evaluate
    from edge_model.features import COLUMN

    spec = EvalSpec(mixed_households=2, clean_households=1, tap_households=1, ignore_households=4, days=84, first_seed=400_000)
    # Any hour well above its lagged reference hits: the pattern's hours and the household's own odd hours alike.
    i = evaluate(lambda rows: (rows[:, COLUMN["ref_dev_w"]] > 300).astype(float), AlertPolicy(), spec)["ignore"]
    assert i["alerted_and_ignored"] == 4
    assert 0 < i["pattern_repeats_without_rule"] < i["repeat_alerts_without_rule"]
    assert i["pattern_repeats_with_rule"] <= i["repeat_alerts_with_rule"]
    assert i["pattern_repeats_with_rule"] < i["pattern_repeats_without_rule"]
    assert i["pattern_repeat_reduction"] == pytest.approx(1 - i["pattern_repeats_with_rule"] / i["pattern_repeats_without_rule"])
    # A theft caught on its own hours is caught.
    assert i["theft_on_top_recall_with_rule_on_tapped_hours"] <= i["theft_on_top_recall_with_rule"]
    assert i["theft_recall_same_home_without_pattern_on_tapped_hours"] <= i["theft_recall_same_home_without_pattern"]


def test_a_second_set_of_evaluation_households_is_built_the_same_way_on_other_seeds(capsys):
    from edge_model.alerting import AlertPolicy
    from edge_model.commands import _print_report
    from edge_model.evaluation import EvalSpec, evaluate

    spec = EvalSpec(mixed_households=2, clean_households=1, tap_households=1, ignore_households=1, days=63, first_seed=400_000)
    report = evaluate(lambda rows: np.zeros(len(rows)), AlertPolicy(), spec)
    assert report["spec"]["first_seed"] == 400_000 and report["false_alarms_per_clean_household_month"] == 0
    assert report["tapping"]["alerts_per_tap_mean"] == 0 and report["tapping"]["alerts_per_tap_max"] == 0
    assert report["tapping"]["caught_within_3_days_on_tapped_hours"] == 0
    _print_report({**report, "model": "test"})  # the table `powergw model evaluate` prints
    assert "by an alert on its tapped hours 0%" in capsys.readouterr().out
    # A model that scores every window 1.0: a tap's 21 days draw about one alert a week, no storm.
    noisy = evaluate(lambda rows: np.ones(len(rows)), AlertPolicy(), spec)["tapping"]
    assert 1 <= noisy["alerts_per_tap_mean"] and noisy["alerts_per_tap_max"] <= 4
    for bad in (100, 650_000):
        with pytest.raises(EdgeModelError, match="check set|training"):
            EvalSpec(first_seed=bad)
