"""The Markdown rendering of Table 1 (METHOD.md §4) with the region and identity columns."""

from lrmakeup.evaluation import ALL_COLUMNS, MetricValue, render_table1
from lrmakeup.evaluation.report import TABLE1_HEADERS


def test_every_suite_column_has_a_header_in_table_order():
    assert tuple(TABLE1_HEADERS) == ALL_COLUMNS
    headers = [h for h, _ in TABLE1_HEADERS.values()]
    assert headers[:6] == ["PSNR↑", "SSIM↑", "MS-SSIM↑", "LPIPS↓", "FID↓", "NIQE↓"]  # the paper's order


def test_table_renders_values_like_the_paper_and_reasons_for_missing_ones():
    rows = {
        "method": {
            "psnr": MetricValue(29.1312, None, 100),
            "ssim": 0.88514,
            "ms_ssim": 0.9004,
            "lpips": MetricValue.unavailable("LPIPS-alex backbone weights a|b.pth not found"),
            "fid": MetricValue(123.16, None, 100),
            "niqe": 37.9691,
            "identity_psnr": float("inf"),
        },
    }
    rows["baseline"] = {"lpips": MetricValue.unavailable("LPIPS-alex backbone weights a|b.pth not found"),
                        "psnr": MetricValue(20.0, None, 1)}
    text = render_table1(rows)
    table, notes = text.strip().split("\n\n")
    lines = table.split("\n")
    assert len(lines) == 4
    # the shared reason is written once, as a footnote; a single-sample score is flagged
    assert notes.split("\n")[0] == r"- [1] n/a: LPIPS-alex backbone weights a\|b.pth not found"
    assert text.count("backbone weights") == 1
    assert "single sample" in notes and "baseline" in notes.split("\n")[-1]
    assert "method" not in notes
    assert lines[0].startswith("| model | PSNR↑ | SSIM↑ | MS-SSIM↑ | LPIPS↓ | FID↓ | NIQE↓ | ΔE00 lips↓")
    cells = [c.strip() for c in lines[2].strip("|").split(" | ")]
    assert len(cells) == 1 + len(ALL_COLUMNS)  # the escaped '|' in the reason did not split a cell
    assert cells[:7] == ["method", "29.13", "0.8851", "0.9004", "n/a [1]", "123.16", "37.969"]
    assert [c.strip() for c in lines[3].strip("|").split(" | ")][4] == "n/a [1]"
    assert cells[7] == "n/a (not measured)"  # a column the row does not have
    assert cells[10] == "∞"
