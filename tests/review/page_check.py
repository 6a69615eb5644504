#!/usr/bin/env python3
"""Opens an HTML page in headless Chromium (Debian's `chromium`) and checks that it loads clean:
no console error, no uncaught exception, no failed request, every <img> decoded and every
<video> with its metadata loaded (so its file exists and Chromium can play its codec); then saves
a full-page screenshot. Talks to Chromium over the DevTools protocol on a pipe
(--remote-debugging-pipe: NUL-separated JSON on file descriptors 3 and 4), so it needs nothing
but the Python standard library.

usage: page_check.py PAGE.html SCREENSHOT.png [--expect-videos N] [--expect-images N]
Prints one line per problem and exits 1 when there is any; exit 77 when chromium is missing."""
import argparse
import base64
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time


class Browser:
    def __init__(self, exe, profile):
        r_chrome, w_ours = os.pipe()   # we write commands, chromium reads fd 3
        r_ours, w_chrome = os.pipe()   # chromium writes fd 4, we read
        args = [exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-extensions", "--mute-audio", "--autoplay-policy=no-user-gesture-required",
                "--allow-file-access-from-files", "--user-data-dir=" + profile,
                "--remote-debugging-pipe", "about:blank"]

        def fds():  # in the child: the pipe ends become its fds 3 and 4 (above any clash)
            a, b = os.dup(r_chrome), os.dup(w_chrome)
            os.dup2(a, 3)
            os.dup2(b, 4)
            os.set_inheritable(3, True)
            os.set_inheritable(4, True)
        self.proc = subprocess.Popen(args, close_fds=False, preexec_fn=fds,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(r_chrome)
        os.close(w_chrome)
        self.w, self.r = w_ours, r_ours
        self.buf = b""
        self.next_id = 0
        self.events = []

    def _read(self, deadline):
        while b"\0" not in self.buf:
            left = deadline - time.time()
            if left <= 0:
                raise TimeoutError("chromium did not answer")
            ready, _, _ = select.select([self.r], [], [], left)
            if ready:
                chunk = os.read(self.r, 1 << 20)
                if not chunk:
                    raise EOFError("chromium closed its pipe")
                self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, params=None, session=None, timeout=30):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.w, json.dumps(msg).encode() + b"\0")
        deadline = time.time() + timeout
        while True:
            m = self._read(deadline)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError("%s: %s" % (method, m["error"]))
                return m.get("result", {})
            self.events.append(m)

    def pump(self, seconds):
        deadline = time.time() + seconds
        try:
            while True:
                self.events.append(self._read(deadline))
        except TimeoutError:
            pass

    def close(self):
        try:
            self.call("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# every <img> decoded and every <video> past HAVE_METADATA (or errored), as JSON
CHECK = """
(async () => {
  const vids = [...document.querySelectorAll('video')];
  await Promise.all(vids.map(v => v.readyState >= 1 || v.error ? null : new Promise(ok => {
    v.addEventListener('loadedmetadata', ok, {once: true});
    v.addEventListener('error', ok, {once: true});
    setTimeout(ok, 15000);
  })));
  const imgs = [...document.querySelectorAll('img')];
  await Promise.all(imgs.map(i => i.complete ? null : new Promise(ok => {
    i.addEventListener('load', ok, {once: true}); i.addEventListener('error', ok, {once: true});
  })));
  return JSON.stringify({
    videos: vids.map(v => ({src: v.currentSrc || v.src, ready: v.readyState,
                            error: v.error ? v.error.code : 0, w: v.videoWidth,
                            h: v.videoHeight, duration: v.duration})),
    images: imgs.map(i => ({src: i.currentSrc || i.src, w: i.naturalWidth, h: i.naturalHeight})),
  });
})()
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("page")
    ap.add_argument("screenshot")
    ap.add_argument("--expect-videos", type=int, default=-1)
    ap.add_argument("--expect-images", type=int, default=-1)
    a = ap.parse_args()
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if not exe:
        print("chromium not installed (Debian package chromium): skipped")
        return 77
    problems = []
    with tempfile.TemporaryDirectory(prefix="sf-chromium.") as profile:
        b = Browser(exe, profile)
        try:
            target = b.call("Target.createTarget", {"url": "about:blank"})["targetId"]
            sess = b.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Page", "Runtime", "Log", "Network"):
                b.call(domain + ".enable", session=sess)
            b.call("Emulation.setDeviceMetricsOverride",
                   {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False},
                   session=sess)
            b.call("Page.navigate", {"url": "file://" + os.path.abspath(a.page)}, session=sess)
            deadline = time.time() + 30
            while not any(e.get("method") == "Page.loadEventFired" for e in b.events):
                if time.time() > deadline:
                    raise TimeoutError("the page did not finish loading")
                b.pump(0.2)
            res = b.call("Runtime.evaluate", {"expression": CHECK, "awaitPromise": True,
                                               "returnByValue": True}, session=sess, timeout=60)
            if "exceptionDetails" in res:
                problems.append("the check script failed: %s" % res["exceptionDetails"])
                state = {"videos": [], "images": []}
            else:
                state = json.loads(res["result"]["value"])
            b.pump(0.5)  # late console messages
            shot = b.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True},
                          session=sess)
            with open(a.screenshot, "wb") as f:
                f.write(base64.b64decode(shot["data"]))
        finally:
            b.close()
    for e in b.events:
        m, p = e.get("method"), e.get("params", {})
        if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            problems.append("console %s: %s" % (p["type"], [x.get("value") for x in p.get("args", [])]))
        elif m == "Runtime.exceptionThrown":
            problems.append("exception: %s" % p.get("exceptionDetails", {}).get("text"))
        elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            problems.append("console error: %s %s" % (p["entry"].get("text"), p["entry"].get("url", "")))
        elif m == "Network.loadingFailed" and not p.get("canceled"):
            problems.append("request failed: %s" % p.get("errorText"))
    for v in state["videos"]:
        if v["error"] or v["ready"] < 1 or not v["w"]:
            problems.append("video does not load: %s" % v)
    for i in state["images"]:
        if not i["w"]:
            problems.append("image does not load: %s" % i)
    if a.expect_videos >= 0 and len(state["videos"]) != a.expect_videos:
        problems.append("%d videos, want %d" % (len(state["videos"]), a.expect_videos))
    if a.expect_images >= 0 and len(state["images"]) != a.expect_images:
        problems.append("%d images, want %d" % (len(state["images"]), a.expect_images))
    for p in problems:
        print("page_check:", p)
    print("page_check: %d videos, %d images, screenshot %s" % (
        len(state["videos"]), len(state["images"]), os.path.abspath(a.screenshot)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
