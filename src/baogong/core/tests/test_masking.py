import pytest

from baogong.core.masking import mask_id_number, mask_name, mask_phone


@pytest.mark.parametrize(
    ("raw", "masked"),
    [("13812345678", "138****5678"), ("021-5555123", "021****5123"), ("12345", "*2345"), ("", ""), ("110", "***")],
)
def test_mask_phone(raw, masked):
    assert mask_phone(raw) == masked


def test_mask_id_number_keeps_first_and_last_character():
    assert mask_id_number("11010119500101123X") == "1****************X"
    assert mask_id_number("") == ""


def test_mask_name_keeps_surname():
    assert (mask_name("王建国"), mask_name("李"), mask_name("")) == ("王**", "李", "")
