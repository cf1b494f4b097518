"""Normalisation and masking (node/model/masking.py), property by property: what a verification
treats as the same value, and that a masked value keeps exactly what its rule keeps."""

from __future__ import annotations

import re
import unicodedata

from hypothesis import given, strategies as st

from node.model.masking import MASK, mask, normalise, same

DIGITS = st.text("0123456789", min_size=17, max_size=17)
FULL_WIDTH = {ord(c): ord(c) + 0xFEE0 for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"}
TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp")), min_size=1, max_size=30)


@given(body=DIGITS, check=st.sampled_from("0123456789xX"), left=st.sampled_from(["", " ", "　", "\t"]),
       right=st.sampled_from(["", " ", "　"]), wide=st.booleans())
def test_an_id_number_is_the_same_whatever_its_x_width_and_spaces(body, check, left, right, wide):
    number = body + check
    asked = left + (number.translate(FULL_WIDTH) if wide else number) + right
    assert same(asked, number) and same(number.lower(), number.upper())
    assert normalise(asked) == body + check.upper()


@given(a=TEXT, b=TEXT)
def test_values_that_differ_after_normalising_are_not_the_same(a, b):
    assert same(a, b) == (normalise(a) == normalise(b))
    assert same(a, a) and same(" " + a + "　", a)


@given(value=st.text() | st.builds(lambda body, x, pad: pad + body + x + pad, DIGITS, st.sampled_from("xX"),
                                    st.sampled_from(["", " ", "　"])))
def test_normalising_is_nfkc_stripped_with_an_id_number_s_x_upper(value):
    """The short cuts (ASCII is NFKC already; only an 18-character text can be an ID number) give
    what the rule says, for any text."""
    text = unicodedata.normalize("NFKC", value).strip()
    assert normalise(value) == (text[:17] + "X" if re.fullmatch(r"\d{17}[xX]", text) else text)


@given(value=TEXT)
def test_full_width_latin_and_digits_are_their_half_width_forms(value):
    assert same(value.translate(FULL_WIDTH), value)


@given(body=DIGITS, check=st.sampled_from("0123456789X"))
def test_an_id_number_keeps_its_first_6_and_last_4(body, check):
    number = body + check
    masked = mask(number, "id_number")
    assert len(masked) == 18 and masked[:6] == number[:6] and masked[-4:] == number[-4:]
    assert masked[6:14] == MASK * 8


@given(name=st.text(st.characters(whitelist_categories=("Lo",)), min_size=1, max_size=8))
def test_a_name_keeps_its_first_character(name):
    masked = mask(name, "name")
    assert masked[0] == (name[0] if len(name) > 1 else MASK) and set(masked[1:]) <= {MASK}
    assert len(masked) == len(name)


@given(digits=st.text("0123456789", min_size=11, max_size=11), sep=st.sampled_from(["", "-", " "]))
def test_a_phone_number_keeps_its_first_3_and_last_4_digits(digits, sep):
    written = digits[:3] + sep + digits[3:7] + sep + digits[7:]
    assert mask(written, "phone") == digits[:3] + MASK * 4 + digits[7:]


@given(rest=st.text("路街号栋室一二三四五六七八九0123456789", min_size=1, max_size=20),
       district=st.sampled_from(["广东省深圳市南山区", "北京市东城区", "河北省石家庄市正定县",
                                 "广西壮族自治区南宁市青秀区", "内蒙古自治区呼伦贝尔市鄂温克族自治旗"]))
def test_an_address_keeps_its_district(rest, district):
    assert mask(district + rest, "address") == district + MASK * 4


@given(value=TEXT, rule=st.sampled_from(["id_number", "name", "phone", "address", "full"]))
def test_a_masked_value_never_comes_out_as_it_was(value, rule):
    masked = mask(value, rule)
    assert masked != value.strip() or set(value.strip()) <= {MASK}
    if rule == "full":
        assert masked == MASK * len(value)
