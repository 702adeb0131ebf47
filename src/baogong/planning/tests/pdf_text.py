"""Just enough PDF reading to check printed sheets without a PDF library.

WeasyPrint writes Flate-compressed streams, one Type 0 font per face with a
ToUnicode CMap, and text as hex glyph strings inside `TJ` arrays. This
inflates every stream, reads the CMaps and decodes the text of each `BT … ET`
block into one line. It assumes the glyph ids of the fonts in a document do not
clash, which holds for the sheets: they use a single font.
"""

from __future__ import annotations

import re
import zlib

STREAM = re.compile(rb"stream\r?\n")
BFCHAR = re.compile(rb"beginbfchar(.*?)endbfchar", re.S)
BFRANGE = re.compile(rb"beginbfrange(.*?)endbfrange", re.S)
PAIR = re.compile(rb"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>")
RANGE = re.compile(rb"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>")
TEXT_BLOCK = re.compile(rb"BT(.*?)ET", re.S)
HEX = re.compile(rb"<([0-9a-fA-F]*)>")


def pdf_streams(data: bytes) -> list[bytes]:
    streams = []
    for match in STREAM.finditer(data):
        end = data.find(b"endstream", match.end())
        try:
            streams.append(zlib.decompressobj().decompress(data[match.end() : end]))
        except zlib.error:
            streams.append(data[match.end() : end])
    return streams


def _unicode(hex_text: bytes) -> str:
    raw = bytes.fromhex(hex_text.decode())
    return raw.decode("utf-16-be")


def pdf_font_names(data: bytes) -> list[str]:
    names = re.findall(rb"/FontName\s*/([^\s/]+)", b"\n".join(pdf_streams(data)) + data)
    return sorted({name.decode() for name in names})


def pdf_text(data: bytes) -> str:
    """The text of every text block, one block per line, in content order."""
    streams = pdf_streams(data)
    glyphs: dict[str, str] = {}
    for stream in streams:
        for block in BFCHAR.findall(stream):
            for glyph, text in PAIR.findall(block):
                glyphs[glyph.decode().lower()] = _unicode(text)
        for block in BFRANGE.findall(stream):
            for first, last, start in RANGE.findall(block):
                begin, code = int(first, 16), int(start, 16)
                for offset in range(int(last, 16) - begin + 1):
                    glyphs[f"{begin + offset:04x}"] = chr(code + offset)
    lines = []
    for stream in streams:
        for block in TEXT_BLOCK.findall(stream):
            if b"Tf" not in block:
                continue
            hex_run = b"".join(HEX.findall(block)).decode().lower()
            lines.append("".join(glyphs.get(hex_run[i : i + 4], "?") for i in range(0, len(hex_run), 4)))
    return "\n".join(lines)
