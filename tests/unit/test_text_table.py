from realtime_mkt.ops.text_table import aligned


def test_columns_align_to_their_widest_cell_without_trailing_blanks():
    text = aligned(("TOPIC", "LAG", "WHY"), [("orders", "12", ""), ("clicks", "3", "slow")])
    assert text.splitlines() == [
        "TOPIC   LAG  WHY",
        "orders  12",
        "clicks  3    slow",
    ]
