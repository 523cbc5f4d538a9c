#!/usr/bin/env python3
"""report.html in a real browser (headless Debian chromium): no console message at all (errors, CSP
violations: the page logs nothing of its own), the key elements in the DOM after the inline script ran
(--dump-dom; the URL's #sort= makes the script sort the layer table, checked in the DOM), and a
screenshot that is not blank and shows the page's CSS. Negative controls first: a page with a script
error and a blank page must be caught by the same checks, so the checks can fail.

usage: test_report_browser.py fixture REPORT_WRITER SCRATCH
       test_report_browser.py run MQCALIB_EXE SOURCE_ROOT SCRATCH"""
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from html.parser import HTMLParser

from PIL import Image

CHROMIUM = os.environ.get("MQCALIB_CHROMIUM", "/usr/bin/chromium")
# Flags this machine needs (docs: /work/.library/env/machines/cpp.md; no network, root, no GPU).
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--enable-logging=stderr", "--v=0"]
WINDOW = (1280, 2400)
MIN_INK_FRACTION = 0.03   # screenshot pixels that differ from the page background
MIN_COLOURS = 16          # distinct colours in the screenshot
HEADER_RGB = (0x24, 0x32, 0x3f)  # report.html's header band (CSS applied)
DATA = "/usr/share/datasets/fashion-mnist/"
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)
    return cond


def chromium(scratch, url, extra):
    profile = tempfile.mkdtemp(prefix="chromium-profile-", dir=scratch)
    try:
        p = subprocess.run([CHROMIUM] + FLAGS + ["--user-data-dir=" + profile] + extra + [url],
                           capture_output=True, text=True, timeout=120, cwd=scratch)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    console = [l for l in p.stderr.splitlines() if ":CONSOLE" in l]
    return p.returncode, p.stdout, console


class Dom(HTMLParser):
    """Ids, body attributes, svg count, and the cells' data-v of one table's body rows."""

    def __init__(self, table_id):
        super().__init__()
        self.ids, self.body, self.svgs, self.rows = set(), {}, 0, []
        self.table_id, self.in_table, self.in_body = table_id, False, False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "body":
            self.body = a
        if tag == "svg":
            self.svgs += 1
        if tag == "table":
            self.in_table = a.get("id") == self.table_id
        if self.in_table and tag == "tbody":
            self.in_body = True
        if self.in_body and tag == "tr":
            self.rows.append([])
        if self.in_body and tag == "td":
            self.rows[-1].append(a.get("data-v"))

    def handle_endtag(self, tag):
        if tag == "table":
            self.in_table = self.in_body = False


def screenshot_ok(scratch, path):
    shot = os.path.join(scratch, os.path.basename(path) + ".png")
    rc, _, console = chromium(scratch, "file://" + path,
                              ["--screenshot=" + shot, "--window-size=%d,%d" % WINDOW, "--hide-scrollbars"])
    if rc != 0 or not os.path.isfile(shot):
        return False, "no screenshot (exit %d)" % rc, console
    img = Image.open(shot).convert("RGB")
    px = list(img.getdata())[::3]
    bg = Counter(px).most_common(1)[0][0]
    ink = sum(1 for p in px if p != bg) / len(px)
    colours = len(set(px))
    why = "ink %.3f, colours %d, size %s" % (ink, colours, img.size)
    return ink >= MIN_INK_FRACTION and colours >= MIN_COLOURS, why, console, img


def check_page(scratch, path, ids, table="layer-table", column=4):
    name = os.path.basename(os.path.dirname(path)) + "/" + os.path.basename(path)
    rc, dom, console = chromium(scratch, "file://%s#sort=%s:%d:desc" % (path, table, column), ["--dump-dom"])
    check(rc == 0, name + ": chromium --dump-dom exits 0")
    check(not console, name + ": no console message: %s" % console)
    d = Dom(table)
    d.feed(dom)
    check(d.body.get("data-ready") == "1", name + ": the inline script ran (body data-ready)")
    for i in ids:
        check(i in d.ids, name + ": element #%s in the DOM" % i)
    check(d.svgs >= 3, name + ": charts drawn (%d svg)" % d.svgs)
    keys = [float(r[column]) for r in d.rows if len(r) > column and r[column] is not None]
    check(len(keys) >= 2 and keys == sorted(keys, reverse=True),
          name + ": #sort sorted %s by column %d descending: %s" % (table, column, keys[:8]))
    ok, why, console2, *img = screenshot_ok(scratch, path)
    check(ok, name + ": screenshot not blank (" + why + ")")
    check(not console2, name + ": no console message while rendering the screenshot: %s" % console2)
    if img:
        top = img[0].getpixel((10, 10))
        check(all(abs(a - b) <= 8 for a, b in zip(top, HEADER_RGB)), name + ": header styled (%s)" % (top,))


def negative_controls(scratch):
    bad = os.path.join(scratch, "bad.html")
    with open(bad, "w") as f:
        f.write("<!DOCTYPE html><html><body><p>x</p><script>notDefined();</script></body></html>")
    _, _, console = chromium(scratch, "file://" + bad, ["--dump-dom"])
    check(any("Uncaught" in l for l in console), "control: a script error shows as a console message")
    blank = os.path.join(scratch, "blank.html")
    with open(blank, "w") as f:
        f.write("<!DOCTYPE html><html><body></body></html>")
    ok, why, _, *_ = screenshot_ok(scratch, blank)
    check(not ok, "control: a blank page fails the screenshot check (" + why + ")")


def main():
    mode, scratch = sys.argv[1], sys.argv[-1]
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch)
    scratch = os.path.abspath(scratch)
    if not os.access(CHROMIUM, os.X_OK):
        print("FAIL: %s not found: ./scripts/install-deps.sh installs Debian's chromium" % CHROMIUM)
        return 1
    every = ["summary", "layers", "layer-table", "sqnr", "quant-top1"]
    if mode == "fixture":
        negative_controls(scratch)
        page = os.path.join(scratch, "fixture", "report.html")
        os.makedirs(os.path.dirname(page))
        subprocess.run([sys.argv[2], page], check=True)
        check_page(scratch, page, every + ["activations", "obs-0", "weights", "outliers", "reconstruction",
                                           "recon-table", "sensitivity", "sensitivity-table", "allocation",
                                           "allocation-table", "outlier-fix", "fix-table"])
    else:
        exe, root = sys.argv[2], sys.argv[3]
        model = os.path.join(root, "examples/zoo/resnet20.pt")
        common = ["--model", model, "--calib", DATA + "train-images-idx3-ubyte.gz", "--calib-size", "64",
                  "--mean", "0.2860", "--std", "0.3530", "--eval", DATA + "t10k-images-idx3-ubyte.gz",
                  "--eval-labels", DATA + "t10k-labels-idx1-ubyte.gz", "--eval-limit", "128", "--quiet"]
        out = os.path.join(scratch, "q")
        p = subprocess.run([exe, "quantize"] + common + ["--backend", "snpe", "--bits-budget", "5",
                           "--sensitivity-samples", "32", "--method", "adaround", "--iters", "20",
                           "--fix-outliers", "--out", out], capture_output=True, text=True)
        check(p.returncode == 0, "quantize exits 0: " + p.stderr[-2000:])
        check("report.html" in p.stdout, "quantize lists report.html among the files written")
        if os.path.isfile(os.path.join(out, "report.html")):
            check_page(scratch, os.path.join(out, "report.html"),
                       every + ["activations", "weights", "reconstruction", "sensitivity", "allocation",
                                "outlier-fix"])
        sens = os.path.join(scratch, "s", "sensitivity.html")
        os.makedirs(os.path.dirname(sens))
        p = subprocess.run([exe, "sensitivity"] + common + ["--w-bits-set", "2", "--samples", "32", "--html", sens],
                           capture_output=True, text=True)
        check(p.returncode == 0, "sensitivity exits 0: " + p.stderr[-2000:])
        check("Spearman" in p.stdout, "sensitivity prints the rank correlation with --eval")
        if os.path.isfile(sens):
            check_page(scratch, sens, ["summary", "sensitivity", "sensitivity-table"], "sensitivity-table", 6)
    print("%d failure(s)" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
