"""custom_id templates: checked when built, full-match when parsed, legacy ids included."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalyst_interactions.discord.custom_id import CustomIdError, CustomIdTemplate

TICKER = r"[A-Z0-9.\-]{1,12}"
TF = "1D|5D|1M|3M|1Y"

CHART = CustomIdTemplate("chart:v1:{ticker}:{tf}", ticker=TICKER, tf=TF)
LEGACY_CHART = CustomIdTemplate("chart_{ticker}_{tf}", ticker=TICKER, tf=TF)
LEGACY_TOGGLE = CustomIdTemplate("chart_toggle_{ticker}_{tf}", ticker=TICKER, tf=TF)
LEGACY_ADMIN = CustomIdTemplate(
    "admin_{action}_{report_id}", action="approve|reject|details|custom", report_id=r"[0-9]+"
)
LEGACY_ADMIN_MODAL = CustomIdTemplate("admin_modal_{report_id}", report_id=r"[0-9]+")
LEGACY = [LEGACY_CHART, LEGACY_TOGGLE, LEGACY_ADMIN, LEGACY_ADMIN_MODAL]


def test_fields_and_prefix() -> None:
    assert CHART.fields == ("ticker", "tf")
    assert CHART.prefix == "chart:v1:"
    assert LEGACY_TOGGLE.prefix == "chart_toggle_"
    assert CustomIdTemplate("{a}:x").prefix == ""
    assert CustomIdTemplate("help").fields == ()
    assert CustomIdTemplate("help").prefix == "help"


def test_build_and_match_round_trip() -> None:
    assert CHART.build(ticker="AAPL", tf="1D") == "chart:v1:AAPL:1D"
    assert CHART.match("chart:v1:AAPL:1D") == {"ticker": "AAPL", "tf": "1D"}
    assert CustomIdTemplate("wl:{user}:{page}").build(user=123, page=2) == "wl:123:2"


def test_legacy_ids_parse() -> None:
    assert LEGACY_CHART.match("chart_AAPL_1D") == {"ticker": "AAPL", "tf": "1D"}
    assert LEGACY_CHART.match("chart_BRK.B_5D") == {"ticker": "BRK.B", "tf": "5D"}
    assert LEGACY_CHART.match("chart_BF-B_1Y") == {"ticker": "BF-B", "tf": "1Y"}
    assert LEGACY_TOGGLE.match("chart_toggle_AAPL_1D") == {"ticker": "AAPL", "tf": "1D"}
    assert LEGACY_ADMIN.match("admin_approve_42") == {"action": "approve", "report_id": "42"}
    assert LEGACY_ADMIN_MODAL.match("admin_modal_42") == {"report_id": "42"}
    assert LEGACY_CHART.build(ticker="BRK.B", tf="3M") == "chart_BRK.B_3M"


def test_legacy_templates_do_not_overlap() -> None:
    assert LEGACY_CHART.match("chart_toggle_AAPL_1D") is None
    assert LEGACY_ADMIN.match("admin_modal_42") is None
    for custom_id in ["chart_AAPL_1D", "chart_toggle_AAPL_1D", "admin_reject_7", "admin_modal_7"]:
        assert sum(t.match(custom_id) is not None for t in LEGACY) == 1, custom_id


@pytest.mark.parametrize(
    "custom_id",
    [
        "chart_AAPL_1D ",  # trailing text: full match only
        "xchart_AAPL_1D",
        "chart_aapl_1D",  # tickers are upper case
        "chart_AAPL_2D",
        "chart_AAPL_1D_extra",
        "chart__1D",
        "chart_ABCDEFGHIJKLM_1D",  # 13 > 12 characters
        "",
    ],
)
def test_match_refuses_near_misses(custom_id: str) -> None:
    assert LEGACY_CHART.match(custom_id) is None


def test_build_refusals() -> None:
    with pytest.raises(CustomIdError, match=r"missing fields \['tf'\]"):
        CHART.build(ticker="AAPL")
    with pytest.raises(CustomIdError, match=r"unexpected fields \['x'\]"):
        CHART.build(ticker="AAPL", tf="1D", x="1")
    with pytest.raises(CustomIdError, match="does not match"):
        CHART.build(ticker="aapl", tf="1D")
    with pytest.raises(CustomIdError, match="does not match"):
        CHART.build(ticker="AAPL", tf="1W")
    with pytest.raises(CustomIdError, match="does not match"):
        CustomIdTemplate("a:{x}").build(x="has:colon")
    with pytest.raises(CustomIdError, match="does not match"):
        CustomIdTemplate("a:{x}").build(x="")
    with pytest.raises(CustomIdError, match="str or int"):
        CustomIdTemplate("a:{x}").build(x=True)


def test_build_refuses_more_than_100_characters() -> None:
    template = CustomIdTemplate("n:{text}", text=r"[a-z]+")
    assert len(template.build(text="a" * 98)) == 100
    with pytest.raises(CustomIdError, match="101 characters; Discord allows at most 100"):
        template.build(text="a" * 99)


def test_build_refuses_ids_that_would_parse_back_differently() -> None:
    ambiguous = CustomIdTemplate("{a}_{b}", a=r".+", b=r".+")
    assert ambiguous.build(a="x", b="y") == "x_y"
    with pytest.raises(CustomIdError, match="would not parse back"):
        ambiguous.build(a="x", b="y_z")  # greedy {a} would take "x_y"


@pytest.mark.parametrize(
    ("pattern", "fields", "fragment"),
    [
        ("a:{x}:{x}", {}, "appears twice"),
        ("a:{x}", {"y": "[0-9]+"}, "has no field"),
        ("a:{x!r}", {}, "plain name"),
        ("a:{x:>5}", {}, "plain name"),
        ("a:{0}", {}, "plain name"),
        ("a:{x}", {"x": "[unclosed"}, "bad field regex"),
        ("a:{x", {}, "bad custom_id template"),
        ("p" * 100 + "{x}", {}, "cannot fit"),
    ],
)
def test_bad_templates(pattern: str, fields: dict[str, str], fragment: str) -> None:
    with pytest.raises(CustomIdError, match=fragment):
        CustomIdTemplate(pattern, **fields)


def test_literal_braces_and_regex_metacharacters_are_literal() -> None:
    template = CustomIdTemplate("q.{{v1}}+{n}", n=r"[0-9]+")
    assert template.build(n=5) == "q.{v1}+5"
    assert template.match("q.{v1}+5") == {"n": "5"}
    assert template.match("qx{v1}+5") is None  # "." is not a wildcard
    assert template.prefix == "q.{v1}+"


def test_custom_id_error_is_a_value_error() -> None:
    assert issubclass(CustomIdError, ValueError)


@settings(max_examples=200, deadline=None, database=None)
@given(
    st.from_regex(TICKER, fullmatch=True),
    st.sampled_from(TF.split("|")),
)
def test_round_trip_for_any_valid_ticker(ticker: str, tf: str) -> None:
    for template in (CHART, LEGACY_CHART, LEGACY_TOGGLE):
        built = template.build(ticker=ticker, tf=tf)
        assert template.match(built) == {"ticker": ticker, "tf": tf}
    assert LEGACY_CHART.match(LEGACY_TOGGLE.build(ticker=ticker, tf=tf)) is None


@settings(max_examples=200, deadline=None, database=None)
@given(st.text(max_size=30), st.text(max_size=30))
def test_build_either_refuses_or_round_trips(a: str, b: str) -> None:
    template = CustomIdTemplate("t:{a}:{b}")
    try:
        built = template.build(a=a, b=b)
    except CustomIdError:
        assert a == "" or b == "" or ":" in a + b
        return
    assert template.match(built) == {"a": a, "b": b}
