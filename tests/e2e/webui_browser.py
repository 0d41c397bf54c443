# SPDX-License-Identifier: BSD-2-Clause
"""tests/e2e/webui_browser.py - the web UI in a real headless Chromium,
driven over the DevTools protocol (tests/e2e/cdp.py), against the cluster
tests/e2e/test_webui.sh built. Prints one "PASS: ..." or "FAIL: ..." line
per check (the shell test counts them) and saves a screenshot of each view.

    python3 webui_browser.py CONFIG.json

CONFIG: {"url", "command" (prefix for chromium, e.g. ip netns exec NODE),
"profile", "shots", "log", "phase": "main" | "token", and the expectations
the shell test knows (see test_webui.sh)}.
"""

import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cdp import Browser, CDPError  # noqa: E402

RESULTS = {"pass": 0, "fail": 0}


def ok(msg):
    RESULTS["pass"] += 1
    print("PASS: " + msg, flush=True)


def bad(msg):
    RESULTS["fail"] += 1
    print("FAIL: " + msg, flush=True)


def check(desc, fn):
    """Run fn(); a falsy result or an exception is a failure."""
    try:
        r = fn()
    except CDPError as e:
        bad("%s: %s" % (desc, e))
        return None
    if r:
        ok(desc)
    else:
        bad(desc)
    return r


def js(s):
    return json.dumps(s)


# Contrast ratio (WCAG) of an element's text against its effective
# background, computed in the page.
CONTRAST_JS = r"""
(() => {
  const lum = (c) => {
    const m = c.match(/rgba?\(([\d.]+), ([\d.]+), ([\d.]+)(?:, ([\d.]+))?\)/);
    if (!m) return null;
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return { l: 0.2126 * f(+m[1]) + 0.7152 * f(+m[2]) + 0.0722 * f(+m[3]), a: m[4] === undefined ? 1 : +m[4] };
  };
  const bg = (el) => {
    for (; el; el = el.parentElement) {
      const c = lum(getComputedStyle(el).backgroundColor);
      if (c && c.a > 0.5) return c.l;
    }
    return 1;
  };
  const out = [];
  for (const sel of SELECTORS) {
    for (const el of document.querySelectorAll(sel)) {
      if (!el.getClientRects().length) continue;
      const fg = lum(getComputedStyle(el)[el instanceof SVGElement ? 'fill' : 'color']);
      if (!fg) continue;
      const b = bg(el instanceof SVGElement ? el.ownerSVGElement : el);
      const r = (Math.max(fg.l, b) + 0.05) / (Math.min(fg.l, b) + 0.05);
      out.push([sel, Math.round(r * 100) / 100]);
      break;
    }
  }
  return out;
})()
"""


def contrast(page, selectors):
    return page.eval("(() => { const SELECTORS = %s; return %s; })()" % (js(selectors), CONTRAST_JS.strip()))


def wait_edges(page, edges, timeout=30):
    conds = " && ".join(
        "!!document.querySelector('.edge[data-source=%s][data-destination=%s]')" % (
            js(e["source"]).replace("'", "\\'"), js(e["destination"]).replace("'", "\\'"))
        for e in edges)
    return page.wait_for(conds or "true", timeout=timeout)


def edge_class(page, e):
    return page.eval("(document.querySelector('.edge[data-source=%s][data-destination=%s]') || {}).className?.baseVal || ''" % (
        js(e["source"]), js(e["destination"])))


def main_phase(cfg, b):
    page = b.new_page(1280, 800)
    base = cfg["url"]
    shots = cfg["shots"]

    # ---- the map, at "/" ------------------------------------------------------------
    page.goto(base + "/")
    check("the page opens on the service map of all namespaces", lambda: page.wait_for(
        "document.querySelector('main').dataset.view === 'map' && "
        "document.querySelector('h1').textContent === 'Service map: all namespaces'"))
    names = cfg["nodes"]
    check("the map shows every workload and outside peer by name, as DOM text (%s)" % ", ".join(names),
          lambda: page.wait_for("(() => { const t = [...document.querySelectorAll('.node .node-label')].map(e => e.textContent); "
                                "return %s.every(n => t.includes(n)); })()" % js(names)))
    check("namespaces are drawn as groups (%s)" % ", ".join(cfg["namespaces"]),
          lambda: page.eval("%s.every(ns => !!document.querySelector('.ns-group[data-namespace=\"' + ns + '\"]'))" % js(cfg["namespaces"])))
    try:
        wait_edges(page, cfg["edges"])
        for e in cfg["edges"]:
            cls = edge_class(page, e)
            if "verdict-" + e["verdict"] in cls.split():
                ok("edge %s -> %s is %s" % (e["source"], e["destination"], e["verdict"]))
            else:
                bad("edge %s -> %s: class '%s', expected verdict-%s" % (e["source"], e["destination"], cls, e["verdict"]))
    except CDPError as ex:
        bad("the map's edges: %s" % ex)
    check("edge labels carry the port and counts",
          lambda: page.eval("[...document.querySelectorAll('.edge-label')].some(t => /TCP\\/8080\\s+\\d+ fwd/.test(t.textContent)) && "
                            "[...document.querySelectorAll('.edge-label')].some(t => /\\d+ drop/.test(t.textContent))"))
    check("the connection table lists the same edges as text",
          lambda: page.eval("document.querySelectorAll('.side-panel table.connections tbody tr').length >= %d" % len(cfg["edges"])))
    check("usable at 1280x800: nothing overflows the window",
          lambda: page.eval("document.documentElement.scrollWidth <= 1280 && document.documentElement.scrollHeight <= 800 && "
                            "document.querySelector('svg.graph').getBoundingClientRect().right <= 1280"))
    page.screenshot(os.path.join(shots, "map.png"))

    # live: a connection made now appears without a reload
    nav_before = page.eval("performance.getEntriesByType('navigation').length + ':' + performance.timeOrigin")
    subprocess.run(cfg["new_edge"]["command"], check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_edges(page, [cfg["new_edge"]], timeout=30)
        same = page.eval("performance.getEntriesByType('navigation').length + ':' + performance.timeOrigin") == nav_before
        (ok if same else bad)("live: the new connection %s -> %s appears on the open map without a reload" % (
            cfg["new_edge"]["source"], cfg["new_edge"]["destination"]))
    except CDPError as ex:
        bad("live: the new connection did not appear: %s" % ex)
    check("the live indicator says live", lambda: page.wait_for("document.querySelector('.live-state').textContent === 'live'"))

    # keyboard: Tab to a workload, Enter selects it
    focused = None
    for _ in range(60):
        page.key("Tab")
        focused = page.eval("document.activeElement && document.activeElement.classList && document.activeElement.classList.contains('node') ? document.activeElement.dataset.nodeId : null")
        if focused:
            break
    if focused:
        page.key("Enter")
        check("keyboard: Tab reaches a map node (%s) and Enter shows its connections" % focused,
              lambda: page.wait_for("document.querySelector('.side-panel h2').textContent.includes(%s)" % js(focused.split("/")[-1]), timeout=10))
        page.screenshot(os.path.join(shots, "map-selected.png"))
    else:
        bad("keyboard: Tab never reached a map node")

    # the namespace picker
    page.eval("(() => { const s = document.getElementById('ns-picker'); s.value = %s; s.dispatchEvent(new Event('change')); })()" % js(cfg["picker_namespace"]))
    check("the namespace picker narrows the map to %s and its peers" % cfg["picker_namespace"],
          lambda: page.wait_for("document.querySelector('h1').textContent.endsWith(%s) && "
                                "![...document.querySelectorAll('.node')].some(n => n.dataset.nodeId === %s)" % (
                                    js(cfg["picker_namespace"]), js(cfg["picker_excluded"])), timeout=15))
    page.screenshot(os.path.join(shots, "map-namespace.png"))
    page.eval("(() => { const s = document.getElementById('ns-picker'); s.value = ''; s.dispatchEvent(new Event('change')); })()")

    # ---- flows ---------------------------------------------------------------------------
    page.goto(base + "/#/flows")
    rows = "document.querySelectorAll('table.flows tbody tr')"
    total = check("the flow table fills", lambda: page.wait_for("%s.length >= 20 && %s.length" % (rows, rows)))
    check("it holds both verdicts before filtering", lambda: page.eval(
        "(() => { const v = new Set([...%s].map(r => r.dataset.verdict)); return v.has('FORWARDED') && v.has('DROPPED'); })()" % rows))
    grows = page.eval("%s.length" % rows)
    check("live: new flows arrive in the open table", lambda: page.wait_for(
        "%s.length > %d || document.querySelector('.count').textContent.includes('200 flows')" % (rows, grows or 0), timeout=20))

    page.screenshot(os.path.join(shots, "flows-all.png"))

    def apply(**fields):
        page.eval("""(() => { const set = (id, v) => { const e = document.getElementById(id); e.value = v; };
            for (const [id, v] of Object.entries(%s)) set(id, v);
            document.querySelector('form.filters button[type=submit]').click(); })()""" % js(fields))

    apply(**{"f-verdict": "DROPPED"})
    check("the verdict filter narrows the table to DROPPED flows", lambda: page.wait_for(
        "%s.length > 0 && [...%s].every(r => r.dataset.verdict === 'DROPPED') && location.hash.includes('verdict=DROPPED')" % (rows, rows)))
    apply(**{"f-verdict": "DROPPED", "f-type": "policy-verdict", "f-from-pod": cfg["denied"]["from"],
             "f-to-pod": cfg["denied"]["to"], "f-port": str(cfg["denied"]["port"]), "f-port-side": "to"})
    check("pod and port filters narrow it to %s -> %s:%d" % (cfg["denied"]["from"], cfg["denied"]["to"], cfg["denied"]["port"]),
          lambda: page.wait_for("%s.length > 0 && [...%s].every(r => r.dataset.source === %s && r.dataset.destination === %s && r.cells[3].textContent.startsWith('%d/'))" % (
              rows, rows, js(cfg["denied"]["from"]), js(cfg["denied"]["to"]), cfg["denied"]["port"])))
    page.screenshot(os.path.join(shots, "flows.png"))
    page.click("table.flows tbody tr")
    check("a denied flow's detail names the policy behind the verdict (%s)" % cfg["denied"]["policy"],
          lambda: page.wait_for("(() => { const d = document.querySelector('.detail-panel'); return d && d.querySelector('.trace-steps') && "
                                "d.querySelector('.trace-steps').textContent.includes(%s) && d.querySelector('.attribution') && "
                                "d.querySelector('.attribution').textContent.includes(%s) && d.textContent.includes('DENIED'); })()" % (
                                    js(cfg["denied"]["policy"]), js(cfg["denied"]["policy"])), timeout=15))
    page.screenshot(os.path.join(shots, "flow-detail.png"))
    apply(**{"f-verdict": "", "f-type": "", "f-from-pod": "", "f-to-pod": "", "f-port": "", "f-fqdn": "api.example"})
    check("an FQDN filter is applied by the daemon, or refused with its message (never ignored)",
          lambda: page.wait_for("(() => { const m = document.querySelector('.messages'); return (m && m.textContent.includes('refused')) || "
                                "document.querySelector('.count').textContent.startsWith('0 flows matching fqdn'); })()", timeout=15))

    # ---- policies ------------------------------------------------------------------------
    page.goto(base + "/#/policies")
    pol = cfg["policy"]
    check("the policy list shows the policies", lambda: page.wait_for(
        "document.querySelectorAll('tr[data-policy]').length === %d" % cfg["policy_count"]))
    page.click("tr[data-policy=%s]" % js("%s|%s|%s" % (pol["kind"], pol["namespace"], pol["name"])))
    check("selecting %s highlights the %d edge(s) it allowed and the %d it denied" % (pol["name"], pol["allowed"], pol["denied"]),
          lambda: page.wait_for("document.querySelector('[data-testid=hl-allow]')?.textContent === '%d' && "
                                "document.querySelector('[data-testid=hl-deny]')?.textContent === '%d' && "
                                "document.querySelectorAll('.edge.hl').length === %d" % (
                                    pol["allowed"], pol["denied"], pol["allowed"] + pol["denied"]), timeout=20))
    check("and shows its rules", lambda: page.wait_for("document.querySelector('.policy-detail pre.yaml') !== null", timeout=10))
    page.screenshot(os.path.join(shots, "policies.png"))

    # ---- adoption views ------------------------------------------------------------------
    # cfg["adoption"][view]: null when the daemon does not serve the route
    # (the view must say so), else {"click": selector or null,
    # "checks": [[description, JS condition], ...]}
    unavailable = {
        "exposure": ["Exposure"],
        "compliance": ["Compliance"],
        "recommend": ["Broad rules", "Recommendation"],
    }
    for view in ("exposure", "compliance", "recommend"):
        page.goto(base + "/#/" + view)
        want = cfg["adoption"].get(view)
        if want is None:
            if view == "recommend":
                page.wait_for("document.querySelector('form.filters button[type=submit]') !== null")
                page.click("form.filters button[type=submit]")
            for what in unavailable[view]:
                check("%s: says '%s is not available on this daemon'" % (view, what), lambda what=what: page.wait_for(
                    "document.querySelector('main').textContent.includes(%s)" % js(what + " is not available on this daemon"), timeout=15))
            if view == "compliance":
                check("compliance: nothing to export then", lambda: page.eval(
                    "[...document.querySelectorAll('.toolbar button')].every(b => b.disabled)"))
        else:
            if want.get("click"):
                page.wait_for("document.querySelector(%s) !== null" % js(want["click"]))
                page.click(want["click"])
            for desc, expr in want["checks"]:
                check("%s: %s" % (view, desc), lambda expr=expr: page.wait_for(expr, timeout=20))
        page.screenshot(os.path.join(shots, view + ".png"))

    # ---- accessibility -------------------------------------------------------------------
    page.goto(base + "/#/flows")
    page.wait_for("%s.length > 0" % rows)
    ratios = contrast(page, ["nav a", "nav a[aria-current=page]", ".toolbar h1", "table.flows td", ".verdict.verdict-dropped",
                             ".verdict.verdict-forwarded", ".field label", "button.primary"])
    page.goto(base + "/#/map")
    page.wait_for("document.querySelectorAll('.node-label').length > 0")
    ratios += contrast(page, [".node-label", ".ns-label", ".edge-label", ".legend li", ".hint"])
    low = [r for r in ratios if r[1] < 4.5]
    (ok if ratios and not low else bad)("text contrast is at least 4.5:1 (%s)%s" % (
        ", ".join("%s %.1f" % (s, r) for s, r in ratios), "; too low: %s" % low if low else ""))
    check("every view's controls have labels (no unlabelled input or select)", lambda: page.eval(
        "[...document.querySelectorAll('input, select, textarea')].every(e => e.labels?.length || e.getAttribute('aria-label'))"))

    problems = [p for p in page.problems() if "Failed to load resource" not in p]
    (ok if not problems else bad)("no script errors or Content-Security-Policy violations%s" % (
        "" if not problems else ": " + "; ".join(problems[:5])))


def token_phase(cfg, b):
    page = b.new_page(1280, 800)
    page.goto(cfg["url"] + "/")
    check("over HTTPS off loopback, the page asks for the token", lambda: page.wait_for(
        "document.querySelector('dialog.token[open]') !== null", timeout=20))
    page.screenshot(os.path.join(cfg["shots"], "token.png"))
    page.eval("document.getElementById('token-input').focus()")
    page.type_text(cfg["token"])
    page.key("Enter")
    check("with the token, the map renders (%s)" % ", ".join(cfg["nodes"]), lambda: page.wait_for(
        "(() => { const t = [...document.querySelectorAll('.node .node-label')].map(e => e.textContent); "
        "return %s.every(n => t.includes(n)); })()" % js(cfg["nodes"]), timeout=30))
    check("and the live stream runs with the token", lambda: page.wait_for(
        "document.querySelector('.live-state').textContent === 'live'", timeout=20))


def main():
    cfg = json.load(open(sys.argv[1]))
    os.makedirs(cfg["shots"], exist_ok=True)
    try:
        with Browser(cfg["profile"], command=cfg.get("command"), log=cfg.get("log"),
                     flags=cfg.get("flags")) as b:
            if cfg.get("phase") == "token":
                token_phase(cfg, b)
            else:
                main_phase(cfg, b)
    except Exception as e:  # a crash of the test is a failure, never a pass
        import traceback
        traceback.print_exc(file=sys.stdout)
        bad("the browser test stopped: %s: %s" % (type(e).__name__, e))
    print("# browser: %d passed, %d failed" % (RESULTS["pass"], RESULTS["fail"]))
    return 1 if RESULTS["fail"] else 0


if __name__ == "__main__":
    sys.exit(main())
