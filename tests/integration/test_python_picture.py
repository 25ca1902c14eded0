"""The stack map as a picture: `fa map --svg FILE` and `frameaudit analyze
--output-html FILE`, rendered by headless Chromium (Debian `chromium`) and
checked on the screenshot: every block of the JSON document is drawn where
the SVG's own address scale puts it, in its state's colour; nothing is drawn
outside the viewBox; the HTML page is self-contained and its links land.
Neither command replaces a FIFO or a symlink."""

import json
import os
import re
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path

import pytest

from fixture_cores import CoreUnavailable, get_core
from lldb_harness import Session, build_dir, python_package_dir
from native_helpers import find_fixture

NESTED = find_fixture("nested", "gcc", "O0", "fp", "audit")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SVG = "{http://www.w3.org/2000/svg}"
STATE_COLOURS = {"live": (0x22, 0xa0, 0x4b), "dead": (0x9e, 0x9e, 0x9e),
                 "corrupt": (0xdc, 0x26, 0x26)}

pytestmark = pytest.mark.skipif(NESTED is None, reason="the nested fixture is not built")


@pytest.fixture(scope="module")
def core():
    try:
        return get_core(NESTED, "kernel", "segv").path
    except CoreUnavailable as e:
        pytest.skip(str(e))


@pytest.fixture
def session(core):
    s = Session()
    s.load_python(python_package_dir())
    s.load_core(NESTED, core)
    yield s
    s.close()


def screenshot(page: Path, out: Path, width: int, height: int) -> None:
    if not CHROMIUM:
        pytest.skip("chromium is not installed (scripts/setup.sh installs it)")
    profile = out.parent / f"profile-{out.stem}"
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                    f"--user-data-dir={profile}", f"--window-size={width},{height}",
                    f"--screenshot={out}", page.as_uri()],
                   capture_output=True, timeout=180, check=True)
    assert out.exists() and out.stat().st_size > 1000


def read_png(path: Path):
    """(width, height, rows of (r, g, b)) of an 8-bit RGB/RGBA PNG."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour in (2, 6), (depth, colour)
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, prev = [], bytearray(stride)
    for y in range(height):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b, c = prev[i], prev[i - channels] if i >= channels else 0
            if f == 1:
                line[i] = (line[i] + a) & 0xff
            elif f == 2:
                line[i] = (line[i] + b) & 0xff
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xff
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xff
        rows.append([tuple(line[x * channels:x * channels + 3]) for x in range(width)])
        prev = line
    return width, height, rows


def parse_scale(attr: str):
    segments = []
    for part in attr.split(";"):
        high, low, top, bottom = part.split(":")
        segments.append((int(high, 16), int(low, 16), float(top), float(bottom)))
    return segments


def y_of(segments, addr: int) -> float:
    for high, low, top, bottom in segments:
        if low <= addr <= high:
            return top + (high - addr) / (high - low) * (bottom - top)
    raise AssertionError(f"{addr:#x} is not on the map")


def in_break(segments, y: float) -> bool:
    return any(bottom - top == 44 and top - 4 <= y <= bottom + 4
               for high, low, top, bottom in segments if high - low > 192)


def drawn_boxes(root):
    """(x0, y0, x1, y1) of every rect, line and text, translations applied."""
    boxes = []

    def walk(node, dy):
        m = re.match(r"translate\(0,([\d.]+)\)", node.get("transform", ""))
        dy += float(m.group(1)) if m else 0
        tag = node.tag.replace(SVG, "")
        if tag == "rect" and node.get("x") is not None:
            x, y = float(node.get("x")), float(node.get("y")) + dy
            boxes.append((x, y, x + float(node.get("width")), y + float(node.get("height"))))
        elif tag == "line":
            boxes.append((float(node.get("x1")), float(node.get("y1")) + dy,
                          float(node.get("x2")), float(node.get("y2")) + dy))
        elif tag == "text":
            x, y = float(node.get("x")), float(node.get("y")) + dy
            size = 14 if "title" in node.get("class", "") else 11
            w = len(node.text or "") * size * 0.62
            anchor = node.get("text-anchor", "start")
            x0 = x - w if anchor == "end" else x - w / 2 if anchor == "middle" else x
            boxes.append((x0, y - size, x0 + w, y + 3))
        for child in node:
            walk(child, dy)

    walk(root, 0.0)
    return boxes


def test_svg_map_is_to_scale_and_coloured(session, tmp_path):
    svg_path = tmp_path / "nested.svg"
    out = session.ok(f'fa map --svg "{svg_path}"')
    doc = json.loads(session.ok("fa map -j"))
    frames = len(doc["threads"][0]["frames"])
    assert frames >= 6  # nested's five frames and libc's, on to _start
    assert out == f"wrote the stack map of 1 thread ({frames} frames) to {svg_path}\n"
    root = ET.parse(svg_path).getroot()
    _, _, width, height = (float(v) for v in root.get("viewBox").split())
    # Nothing drawn outside the viewBox (text measured at 0.62 em a glyph).
    for x0, y0, x1, y1 in drawn_boxes(root):
        assert 0 <= x0 and x1 <= width + 0.5 and 0 <= y0 and y1 <= height + 0.5, (x0, y0, x1, y1)

    panel = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "panel")
    segments = parse_scale(panel.get("data-scale"))
    shot = tmp_path / "nested.png"
    screenshot(svg_path, shot, int(width), int(height))
    w, h, pixels = read_png(shot)
    assert (w, h) == (int(width), int(height))

    regions = doc["threads"][0]["regions"]
    assert len(regions) == 7
    checked = 0
    for region in regions:
        base, size = int(region["base"], 16), region["size"]
        rect = root.find(f".//{SVG}rect[@id='svg-{region['id']}']")
        if size == 0:
            continue  # an empty block: only its header is drawn
        assert rect is not None, region["id"]
        top, bottom = y_of(segments, base + size), y_of(segments, base)
        assert abs(float(rect.get("y")) - top) < 0.6 and \
            abs(float(rect.get("height")) - (bottom - top)) < 0.6, region["id"]
        # Sample the screenshot inside the block, away from labels and breaks.
        x = int(float(rect.get("x")) + float(rect.get("width")) * 0.8)
        for y in (top + 0.5 * (bottom - top), top + 0.8 * (bottom - top)):
            if bottom - top < 6 or in_break(segments, y):
                continue
            colour = pixels[int(y)][x]
            want = STATE_COLOURS[region["state"]]
            assert all(abs(a - b) <= 12 for a, b in zip(colour, want)), \
                (region["id"], int(y), colour, want)
            checked += 1
    assert checked >= 5
    # RSP's mark is drawn at RSP.
    rsp = int(doc["threads"][0]["registers"]["rsp"], 16)
    line = next(l for l in root.iter(f"{SVG}line") if l.get("class") == "rsp")
    assert abs(float(line.get("y1")) - y_of(segments, rsp)) < 0.6
    red = pixels[int(round(float(line.get("y1"))))][int(float(line.get("x2"))) - 10]
    assert red[0] > 180 and red[1] < 80 and red[2] < 80, red


def test_html_report_is_self_contained_and_linked(core, tmp_path):
    html_path = tmp_path / "report.html"
    tool = build_dir() / "bin" / "frameaudit"
    run = subprocess.run([str(tool), "analyze", "--output-html", str(html_path), "--format",
                          "json", str(core)], capture_output=True, text=True, timeout=300)
    assert run.returncode in (0, 1), run.stderr
    doc = json.loads(run.stdout)
    page = html_path.read_text()
    assert "<script" not in page.lower()
    assert not re.search(r"(src|href)=\"(https?:)?//", page)
    ids = set(re.findall(r'id="([^"]+)"', page))
    links = re.findall(r'href="#([^"]+)"', page)
    assert links and all(link in ids for link in links), [l for l in links if l not in ids]
    for finding in doc["findings"]:
        if finding["frame"] is not None:
            assert f'href="#t{finding["thread"]}-f{finding["frame"]}"' in page
    for region in doc["threads"][0]["regions"]:
        assert f'id="t1-{region["id"]}"' in page and f'id="t1-svg-{region["id"]}"' in page
    shot = tmp_path / "report.png"
    screenshot(html_path, shot, 1400, 1600)
    _, _, pixels = read_png(shot)
    green = sum(1 for row in pixels[::4] for p in row[::4]
                if all(abs(a - b) <= 12 for a, b in zip(p, STATE_COLOURS["live"])))
    assert green > 100  # the live blocks of the map are on the page
    if os.environ.get("FRAMEAUDIT_SAVE_SCREENSHOT"):
        shutil.copy(shot, os.environ["FRAMEAUDIT_SAVE_SCREENSHOT"])


@pytest.mark.parametrize("kind", ["fifo", "symlink", "directory"])
def test_outputs_never_replace_what_is_not_a_regular_file(session, core, tmp_path, kind):
    path = tmp_path / f"out-{kind}"
    target = tmp_path / "precious.txt"
    target.write_text("keep me\n")
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "symlink":
        path.symlink_to(target)
    else:
        path.mkdir()
    err = session.fails(f'fa map --svg "{path}"')
    assert f"cannot write '{path}'" in err
    if kind == "directory":
        # The CLI writes into a FIFO and through a symbolic link to a regular
        # file by design (docs/user-guide.md, "Where outputs go"; tested for
        # every format in tests/cli/test_outputs.py); a directory it refuses.
        tool = build_dir() / "bin" / "frameaudit"
        run = subprocess.run([str(tool), "analyze", "--output-html", str(path), str(core)],
                             capture_output=True, text=True, timeout=300)
        assert run.returncode == 2 and "frameaudit:" in run.stderr
    assert target.read_text() == "keep me\n"
    assert (path.is_fifo() if kind == "fifo" else path.is_symlink() if kind == "symlink"
            else path.is_dir())
