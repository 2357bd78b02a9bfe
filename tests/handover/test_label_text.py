"""Mixed Persian and left-to-right text on a label reads in its natural order: postal codes and phone numbers inside
right-to-left lines keep their halves in place (the sender's 1458973311 printed as 73311-14589 before), and the
one-pass bidi used for common label lines agrees with fpdf2's full algorithm."""

from __future__ import annotations

import io
import random

from fpdf.bidi import BidiParagraph
from fpdf.enums import TextDirection
from pypdf import PdfReader

from handover.pdftext import _BIDI_CONTROLS, LRI, PDI, _rtl_numbers_only, fragments, ltr
from tests.conftest import shipment_body


async def test_the_return_address_postal_code_reads_left_to_right(app_client, shop):
    resp = await app_client.post("/v1/shipments", json=shipment_body(), headers=shop.headers)
    tn = (await resp.json())["tracking_number"]
    for size in ("100x150", "a4-2up"):
        label = await app_client.get(f"/v1/shipments/{tn}/label", params={"size": size}, headers=shop.headers)
        text = PdfReader(io.BytesIO(await label.read())).pages[0].extract_text()
        assert "14589-73311" in text, text  # the sender's postal code (TEHRAN_SENDER), 5-5, in order
        assert "73311-14589" not in text
        assert "09121234567" in text  # the sender's phone, whole
        assert "81386-34561" in text


def test_an_isolated_number_is_one_left_to_right_run():
    line = "نشانی برگشت: تهران، خیابان آزادی " + ltr("14589-73311")
    assert fragments(line) == (("نشانی برگشت: تهران، خیابان آزادی ", True), ("14589-73311", False))
    # Without the isolate the bidi algorithm splits it (digits after Persian letters are Arabic numbers, and a
    # hyphen does not join those): that is the swap the label printed.
    assert fragments("تهران 14589-73311") == (("تهران ", True), ("14589", False), ("-", True), ("73311", False))


def _full(text: str) -> tuple[tuple[str, bool], ...]:
    out = []
    for frag, direction in BidiParagraph(text=text, base_direction=TextDirection.RTL).get_bidi_fragments():
        frag = frag.translate(_BIDI_CONTROLS)
        if frag:
            out.append((frag, direction == TextDirection.RTL))
    return tuple(out)


def test_the_one_pass_bidi_agrees_with_fpdf2():
    rnd = random.Random(22)
    alphabet = list("سلامکوچهپلاکخیابانگرم") + list("0123456789۰۱۲۳۴۵۶۷۸۹") + list(" ,./:-+%#()،«»_")
    checked = 0
    for _ in range(5000):
        parts = []
        for _ in range(rnd.randint(1, 8)):
            if rnd.random() < 0.15:
                parts.append(LRI + "".join(rnd.choice("0123456789-+ /ABx") for _ in range(rnd.randint(0, 6))) + PDI)
            else:
                parts.append("".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 5))))
        text = "".join(parts)
        fast = _rtl_numbers_only(text)
        if fast is not None:
            checked += 1
            assert fast == _full(text), text
    assert checked > 4000


def test_the_line_wide_direction_tests_agree_with_the_per_character_ones():
    from handover.pdftext import _LTR_CHAR, _RTL_CHAR, _is_ltr_char, _is_rtl_char

    for c in map(chr, range(0x30000)):
        assert (_RTL_CHAR.match(c) is not None) == _is_rtl_char(c), hex(ord(c))
        assert (_LTR_CHAR.match(c) is not None) == _is_ltr_char(c), hex(ord(c))
