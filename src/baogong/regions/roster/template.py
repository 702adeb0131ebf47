"""The blank roster workbook people download and fill in."""

from __future__ import annotations

import io

from django.utils import translation

from ..models import VulnerabilityTag
from .rows import COLUMNS, MAX_SIZE, VULNERABILITY_CHINESE


def roster_template_build() -> bytes:
    """The blank roster workbook: a data sheet with the titles and an instructions sheet."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "住户 Households"
    sheet.append([column.title for column in COLUMNS])
    for index, column in enumerate(COLUMNS, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = column.width
        cell = sheet.cell(row=1, column=index)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        if column.key in {"room", "phone", "id_number", "building", "unit"}:
            # Text, so Excel keeps leading zeros and all 18 digits of an ID number.
            for row in range(2, 1002):
                sheet.cell(row=row, column=index).number_format = "@"
    sheet.freeze_panes = "A2"

    def column_range(key: str) -> str:
        letter = get_column_letter([c.key for c in COLUMNS].index(key) + 1)
        return f"{letter}2:{letter}20001"

    size_rule = DataValidation(type="whole", operator="between", formula1="1", formula2=str(MAX_SIZE))
    size_rule.error = f"1–{MAX_SIZE}"
    size_rule.add(column_range("size"))
    online_rule = DataValidation(type="list", formula1='"是,否"', allow_blank=True)
    online_rule.add(column_range("can_order_online"))
    # A suggestion list only: one cell may hold several categories, so Excel must not refuse free text.
    tags_rule = DataValidation(
        type="list",
        formula1='"' + ",".join(names[0] for names in VULNERABILITY_CHINESE.values()) + '"',
        allow_blank=True,
        showErrorMessage=False,
    )
    tags_rule.add(column_range("vulnerability"))
    for rule in (size_rule, online_rule, tags_rule):
        sheet.add_data_validation(rule)

    notes = workbook.create_sheet("说明 Instructions")
    notes.column_dimensions["A"].width = 30
    notes.column_dimensions["B"].width = 70
    notes.append(["住户摸排表填写说明", "How to fill in the household roster"])
    notes.append(["每行一户；第1行标题不要改动。", "One household per row; keep the titles in row 1."])
    notes.append(
        [
            "同一楼栋、单元、房号只能出现一次；再次导入同一文件不会重复。",
            "Each building + unit + room only once; importing the same file again creates no duplicates.",
        ]
    )
    notes.append(
        [
            "有错误时整个文件都不导入，并列出错误行。",
            "If any row has an error, nothing is imported and the rows are listed.",
        ]
    )
    notes.append([])
    notes.append(["列 Column", "要求 Rule"])
    rules = {
        "building": "必填，如 1号楼 / required, e.g. 1号楼",
        "unit": "必填，如 1单元 / required, e.g. 1单元",
        "room": "必填，如 1203 / required, e.g. 1203",
        "head_name": "必填 / required",
        "size": f"必填，1–{MAX_SIZE} 的整数 / required, whole number 1–{MAX_SIZE}",
        "phone": "必填，11位手机号或座机（可带区号和-）/ required, 11-digit mobile or landline (with area code, -)",
        "id_number": "选填，18位身份证号 / optional, 18-character resident ID number",
        "vulnerability": "选填，可填多个，用逗号或顿号分隔 / optional, several allowed, separated by , or 、",
        "can_order_online": "是/否、yes/no、1/0；空白视为“是” / yes or no; blank means yes",
        "notes": "选填 / optional",
    }
    for column in COLUMNS:
        notes.append([column.title, rules[column.key]])
    notes.append([])
    notes.append(["困难类别 Vulnerability", "可填写 / accepted values"])
    with translation.override("en"):
        for tag in VulnerabilityTag:
            notes.append([tag.value, "、".join(VULNERABILITY_CHINESE[tag]) + f" / {tag.label}"])
    notes.append([])
    notes.append(["示例 Example"])
    notes.append([column.title for column in COLUMNS])
    notes.append(["1号楼", "1单元", "1203", "王建国", 3, "13812345678", "", "低保、独居老人", "否", "需送药"])
    for row in notes.iter_rows():
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")

    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
