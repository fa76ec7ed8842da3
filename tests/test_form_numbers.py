"""Grouped numbers in the forms (issue 16, item 5): ``1,250.50`` is accepted and sent as
``1250.50``; ``1.250,50``, ``1,25`` and other groupings that could be misread are refused with a
message that names what is wrong, and nothing is sent.

The refusals reuse the form-fuzzing rig (a served emulator and a client whose every request is
counted), so "nothing is sent" is checked on the wire.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
import test_proof_fuzz_forms as fuzz
from hypothesis import given
from hypothesis import strategies as st
from test_proof_fuzz_forms import SETTINGS, Rig, assert_refused, fill_item, reset

from ppnb.widgets._numbers import GroupingError, ungroup

rig = fuzz.rig  # the fuzzing rig, as a fixture of this module too


@pytest.mark.parametrize(("typed", "plain"), [
    ("1,250.50", "1250.50"), ("12,000", "12000"), ("1,000,000.5", "1000000.5"),
    ("-1,000", "-1000"), (" 1,250.50 ", "1250.50"), ("1250.50", "1250.50"), ("0.5", "0.5"),
    ("1,250", "1250"),  # a comma before exactly three digits groups them, as the dot decimals say
    ("abc", "abc"), ("1e3", "1e3"),  # not made of digits and separators: parse_amount refuses
])
def test_accepted_groupings(typed: str, plain: str) -> None:
    assert ungroup(typed) == plain


@pytest.mark.parametrize(("typed", "says"), [
    ("1.250,50", "'1.250,50' has a decimal comma: write 1250.50"),
    ("1,25", "'1,25' is ambiguous: a comma only goes between groups of three digits (as in "
             "1,250.50); for decimals write a dot (1.25)"),
    ("0,100", "'0,100' is ambiguous"),
    ("12,5", "for decimals write a dot (12.5)"),
    ("1.250.000", "'1.250.000' has more than one dot"),
    (",100", "',100': commas only go between groups of three digits"),
    ("1,,000", "commas only go between groups of three digits"),
    ("1,000,", "commas only go between groups of three digits"),
    ("12,34,567", "commas only go between groups of three digits"),
    ("1,000.5,0", "commas only go between groups of three digits"),
])
def test_refused_groupings_say_what_is_wrong(typed: str, says: str) -> None:
    with pytest.raises(GroupingError) as refused:
        ungroup(typed)
    assert says in str(refused.value)


def _group(whole: int) -> str:
    return f"{whole:,}"


@SETTINGS
@given(whole=st.integers(1000, 999_999), cents=st.integers(0, 99),
       field=st.sampled_from(["unit", "minimum"]))
def test_grouped_amounts_are_accepted_and_sent_plain(rig: Rig, whole: int, cents: int,
                                                     field: str) -> None:
    reset(rig.form)
    typed = f"{_group(whole)}.{cents:02d}"
    if field == "unit":
        fill_item(rig.form, unit=typed)
    else:
        fill_item(rig.form, unit="1,000,000")
        rig.form.set(partial=True, minimum=typed)
    assert rig.form.validate() == {}
    body = rig.form.value
    sent = (body["items"][0]["unit_amount"]["value"] if field == "unit"
            else body["configuration"]["partial_payment"]["minimum_amount_due"]["value"])
    assert sent == f"{whole}.{cents:02d}"
    if field == "unit":
        assert rig.form.total() == Decimal(sent)


#: Numbers a person using a decimal comma would type, or commas not between groups of three.
MISREAD = st.one_of(
    st.builds("{}.{:03d},{:02d}".format, st.integers(1, 999), st.integers(0, 999),
              st.integers(0, 99)),  # 1.250,50
    st.builds("{},{}".format, st.integers(0, 9999),
              st.integers(0, 99).map(str) | st.integers(1000, 99999).map(str)),  # 1,25 1,0000
    st.builds("0,{:03d}".format, st.integers(0, 999)),  # 0,100
    st.builds("{}.{:03d}.{:03d}".format, st.integers(1, 999), st.integers(0, 999),
              st.integers(0, 999)),  # 1.250.000
    st.builds("{},,{:03d}".format, st.integers(1, 999), st.integers(0, 999)),
)


@SETTINGS
@given(typed=MISREAD, field=st.sampled_from(["quantity", "unit", "tax", "discount"]))
def test_misreadable_numbers_are_refused_and_nothing_is_sent(rig: Rig, typed: str,
                                                             field: str) -> None:
    reset(rig.form)
    fill_item(rig.form, **{field: typed})
    message = assert_refused(rig, rig.form, "item 1")
    label = {"unit": "unit amount", "tax": "tax %", "discount": "discount %"}.get(field, field)
    assert re.search(rf"{re.escape(label)} '{re.escape(typed)}'", message), message
    assert "comma" in message or "more than one dot" in message
