# SPDX-License-Identifier: BSD-2-Clause
"""tests/e2e/cdp.py - drive a headless Chromium with the DevTools protocol.

Chromium is started with --remote-debugging-pipe: it reads protocol
messages (JSON, each ended by a NUL byte) on its file descriptor 3 and
writes answers and events on descriptor 4. That needs nothing beyond the
Python standard library and Debian's chromium package: no WebSocket client,
no npm driver, no download of a browser.

    with Browser(profile_dir) as b:
        page = b.new_page(1280, 800)
        page.goto("http://127.0.0.1:9963/")
        page.wait_for("document.querySelectorAll('.node').length > 0")
        page.screenshot("map.png")

Chromium's own flags for a machine without network access and as root
(--no-sandbox) are set here; `command` may prefix the binary (e.g. with
`ip netns exec NODE` so that the browser runs in a test's namespace).
"""

import base64
import json
import os
import select
import shutil
import subprocess
import time

CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--disable-features=Translate,MediaRouter,OptimizationHints",
    "--hide-scrollbars",
    "--mute-audio",
    "--remote-debugging-pipe",
]


class CDPError(Exception):
    pass


def find_chromium():
    for c in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if c and os.access(c, os.X_OK):
            return c
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Browser:
    def __init__(self, profile_dir, command=None, binary=None, log=None, flags=None):
        self.binary = binary or find_chromium()
        if not self.binary:
            raise CDPError("chromium not found (apt-get install chromium)")
        self.profile_dir = profile_dir
        self.command = list(command or [])
        self.log = log
        self.flags = list(flags or [])
        self.proc = None
        self.next_id = 0
        self.buf = b""
        self.events = []

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.close()

    def start(self):
        os.makedirs(self.profile_dir, exist_ok=True)
        # the child's fd 3 reads our commands, its fd 4 carries its answers
        c_read, p_write = os.pipe()
        p_read, c_write = os.pipe()

        def child_fds():
            os.dup2(c_read, 3)
            os.dup2(c_write, 4)

        args = self.command + [self.binary] + CHROMIUM_FLAGS + self.flags + [
            "--user-data-dir=" + self.profile_dir, "about:blank"]
        errf = open(self.log, "ab") if self.log else subprocess.DEVNULL
        # (the fds are closed after preexec_fn: keep 3 and 4 too)
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=errf,
                                     stderr=errf, pass_fds=(c_read, c_write, 3, 4),
                                     preexec_fn=child_fds, close_fds=True)
        if self.log:
            errf.close()
        os.close(c_read)
        os.close(c_write)
        self.wfd, self.rfd = p_write, p_read
        self.call("Target.setDiscoverTargets", {"discover": True}, timeout=60)

    def close(self):
        if self.proc is None:
            return
        try:
            self.call("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self.wfd, self.rfd):
            try:
                os.close(fd)
            except OSError:
                pass
        self.proc = None

    def _send(self, msg):
        data = json.dumps(msg).encode() + b"\0"
        while data:
            n = os.write(self.wfd, data)
            data = data[n:]

    def _read(self, deadline):
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise CDPError("no answer from chromium in time")
            r, _, _ = select.select([self.rfd], [], [], left)
            if not r:
                continue
            chunk = os.read(self.rfd, 1 << 20)
            if not chunk:
                raise CDPError("chromium exited (exit status %s)" % self.proc.poll())
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, params=None, session=None, timeout=30):
        self.next_id += 1
        mid = self.next_id
        msg = {"id": mid, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        self._send(msg)
        deadline = time.monotonic() + timeout
        while True:
            m = self._read(deadline)
            if m.get("id") == mid:
                if "error" in m:
                    raise CDPError("%s: %s" % (method, m["error"].get("message")))
                return m.get("result", {})
            if "method" in m:
                self.events.append(m)

    def pump(self, seconds):
        """Collect events for a while (no command pending)."""
        deadline = time.monotonic() + seconds
        try:
            while True:
                self.events.append(self._read(deadline))
        except CDPError as e:
            if "in time" not in str(e):
                raise

    def new_page(self, width=1280, height=800):
        t = self.call("Target.createTarget", {"url": "about:blank"})
        s = self.call("Target.attachToTarget", {"targetId": t["targetId"], "flatten": True})
        return Page(self, s["sessionId"], width, height)


class Page:
    def __init__(self, browser, session, width, height):
        self.b = browser
        self.session = session
        self.call("Page.enable")
        self.call("Runtime.enable")
        self.call("Log.enable")
        self.call("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})

    def call(self, method, params=None, timeout=30):
        return self.b.call(method, params, session=self.session, timeout=timeout)

    def goto(self, url):
        self.call("Page.navigate", {"url": url})
        self.wait_for("document.readyState === 'complete'")

    def eval(self, expr, timeout=30):
        r = self.call("Runtime.evaluate", {"expression": expr, "awaitPromise": True,
                                           "returnByValue": True}, timeout=timeout)
        if "exceptionDetails" in r:
            d = r["exceptionDetails"]
            raise CDPError("JavaScript error in %r: %s" % (
                expr[:80], (d.get("exception") or {}).get("description") or d.get("text")))
        return (r.get("result") or {}).get("value")

    def wait_for(self, expr, timeout=30, interval=0.2):
        """Wait until the expression is truthy (re-evaluated every try)."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                v = self.eval(expr)
                if v:
                    return v
                last = v
            except CDPError as e:
                last = str(e)
            time.sleep(interval)
        raise CDPError("timed out waiting for %s (last: %r)" % (expr, last))

    def click(self, selector):
        """Click the middle of the element, as a mouse would."""
        box = self.eval("""(() => { const e = document.querySelector(%s);
            if (!e) return null; e.scrollIntoView({block: 'center', inline: 'center'});
            const r = e.getBoundingClientRect();
            return [r.left + r.width / 2, r.top + r.height / 2]; })()""" % json.dumps(selector))
        if not box:
            raise CDPError("nothing matches %s" % selector)
        for t in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", {"type": t, "x": box[0], "y": box[1],
                                                   "button": "left", "clickCount": 1})

    def key(self, key, code=None, text=None):
        codes = {"Enter": 13, "Tab": 9, "ArrowDown": 40, "ArrowUp": 38, " ": 32}
        p = {"key": key, "code": code or key, "windowsVirtualKeyCode": codes.get(key, 0)}
        if text is None and key == "Enter":
            text = "\r"  # what makes Enter submit a form
        if text:
            p["text"] = text
        self.call("Input.dispatchKeyEvent", dict(p, type="keyDown"))
        self.call("Input.dispatchKeyEvent", dict(p, type="keyUp"))

    def type_text(self, text):
        self.call("Input.insertText", {"text": text})

    def screenshot(self, path):
        r = self.call("Page.captureScreenshot", {"format": "png"}, timeout=60)
        with open(path, "wb") as f:
            f.write(base64.b64decode(r["data"]))

    def problems(self):
        """Uncaught exceptions, console errors and CSP violations so far."""
        out = []
        for e in self.b.events:
            if e.get("sessionId") != self.session:
                continue
            m, p = e.get("method"), e.get("params", {})
            if m == "Runtime.exceptionThrown":
                d = p.get("exceptionDetails", {})
                out.append("exception: %s" % ((d.get("exception") or {}).get("description") or d.get("text")))
            elif m == "Runtime.consoleAPICalled" and p.get("type") == "error":
                out.append("console.error: %s" % " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", [])))
            elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                out.append("log: %s" % p["entry"].get("text"))
        return out
