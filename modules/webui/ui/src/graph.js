// SPDX-License-Identifier: BSD-2-Clause
// graph.js - the service map drawn as SVG: ELK (elkjs, the Eclipse Layout
// Kernel's layered algorithm) places namespaces, workloads and outside
// peers and routes the arrows; this file only turns its coordinates into
// SVG elements. Names are SVG text (real DOM text: selectable, read by
// screen readers and by the browser tests); every node and arrow is a
// focusable button with a spoken description; the drawing pans with the
// mouse and zooms with the wheel or the +/-/fit buttons.

import ELK from 'elkjs/lib/elk.bundled.js';
import { s, clear } from './dom.js';
import { structureKey, edgeDescription } from './mapmodel.js';

const elk = new ELK();
const CHAR_W = 7.4;
const NODE_H = 32;

function nodeWidth(label) {
  return Math.max(64, Math.ceil(label.length * CHAR_W) + 28);
}

function countsText(m) {
  const parts = [];
  if (m.forwarded) parts.push(`${m.forwarded} fwd`);
  if (m.dropped) parts.push(`${m.dropped} drop`);
  if (m.audit) parts.push(`${m.audit} audit`);
  return parts.length ? parts.join(' · ') : 'no connections yet';
}

function edgeText(m) {
  return `${m.label}  ${countsText(m)}`;
}

function kindClass(n) {
  if (n.kind === 'workload') return 'kind-workload';
  if (n.kind === 'world' || n.kind === 'cidr' || n.kind === 'address') return 'kind-outside';
  return 'kind-reserved';
}

export class Graph {
  constructor(container, { onSelect } = {}) {
    this.container = container;
    this.onSelect = onSelect || (() => {});
    this.key = null;
    this.model = null;
    this.selected = null;
    this.highlight = null;
    this.view = { x: 0, y: 0, k: 1 };
    this.size = { w: 0, h: 0 };
    this.svg = s('svg', { class: 'graph', role: 'group', 'aria-label': 'Service map', 'data-testid': 'map-svg' });
    this.defs = s('defs', {},
      ['forwarded', 'dropped', 'mixed', 'hl'].map((c) =>
        s('marker', { id: `arrow-${c}`, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse', class: `arrow arrow-${c}` },
          s('path', { d: 'M 0 0 L 10 5 L 0 10 z' }))));
    this.viewport = s('g', { class: 'viewport' });
    this.svg.append(this.defs, this.viewport);
    container.appendChild(this.svg);
    this.installPanZoom();
  }

  installPanZoom() {
    let drag = null;
    this.svg.addEventListener('pointerdown', (e) => {
      if (e.target.closest('.node, .edge')) return;
      drag = { x: e.clientX, y: e.clientY, vx: this.view.x, vy: this.view.y };
      this.svg.setPointerCapture(e.pointerId);
      this.svg.classList.add('panning');
    });
    this.svg.addEventListener('pointermove', (e) => {
      if (!drag) return;
      this.view.x = drag.vx + (e.clientX - drag.x);
      this.view.y = drag.vy + (e.clientY - drag.y);
      this.apply();
    });
    const end = () => { drag = null; this.svg.classList.remove('panning'); };
    this.svg.addEventListener('pointerup', end);
    this.svg.addEventListener('pointercancel', end);
    this.svg.addEventListener('wheel', (e) => {
      e.preventDefault();
      const r = this.svg.getBoundingClientRect();
      this.zoomAt(e.deltaY < 0 ? 1.15 : 1 / 1.15, e.clientX - r.left, e.clientY - r.top);
    }, { passive: false });
    this.svg.addEventListener('click', (e) => {
      if (!e.target.closest('.node, .edge')) this.select(null);
    });
  }

  apply() {
    this.viewport.setAttribute('transform', `translate(${this.view.x} ${this.view.y}) scale(${this.view.k})`);
  }

  zoomAt(f, cx, cy) {
    const k = Math.min(4, Math.max(0.2, this.view.k * f));
    const real = k / this.view.k;
    this.view.x = cx - (cx - this.view.x) * real;
    this.view.y = cy - (cy - this.view.y) * real;
    this.view.k = k;
    this.apply();
  }

  zoom(f) {
    const r = this.svg.getBoundingClientRect();
    this.zoomAt(f, r.width / 2, r.height / 2);
  }

  fit() {
    const r = this.svg.getBoundingClientRect();
    if (!this.size.w || !r.width) return;
    const k = Math.min(1.4, Math.min((r.width - 24) / this.size.w, (r.height - 24) / this.size.h));
    this.view.k = Math.max(0.2, k);
    this.view.x = (r.width - this.size.w * this.view.k) / 2;
    this.view.y = Math.max(12, (r.height - this.size.h * this.view.k) / 2);
    this.apply();
  }

  // Draw model (mapmodel.buildModel); lays out again only when nodes or
  // arrows came or went, else updates counts and colours in place.
  async render(model) {
    const key = structureKey(model);
    this.model = model;
    if (key === this.key) {
      this.update();
      return;
    }
    this.key = key;
    const layout = await this.layout(model);
    if (this.model !== model) return; // a newer render started
    this.draw(model, layout);
    this.fit();
  }

  // Lay out left-to-right and top-to-bottom, keep the one that shows
  // larger in the canvas (a short chain of namespaces reads best across, a
  // long one down).
  async layout(model) {
    const r = this.svg.getBoundingClientRect();
    const across = await this.layoutDir(model, 'RIGHT');
    if (!r.width || !r.height) return across;
    const down = await this.layoutDir(model, 'DOWN');
    const scale = (l) => Math.min(r.width / (l.out.width || 1), r.height / (l.out.height || 1));
    return scale(down) > scale(across) * 1.1 ? down : across;
  }

  async layoutDir(model, direction) {
    const ids = new Map();
    let seq = 0;
    const nid = (id) => {
      if (!ids.has(id)) ids.set(id, `n${seq++}`);
      return ids.get(id);
    };
    const groupNs = new Map();
    const elkNode = (n) => ({ id: nid(n.id), width: nodeWidth(n.label), height: NODE_H });
    const children = model.namespaces.map(([ns, nodes]) => {
      const id = `g${seq++}`;
      groupNs.set(id, ns);
      return {
        id,
        layoutOptions: { 'elk.padding': '[top=30,left=14,bottom=14,right=14]' },
        children: [...nodes].sort((a, b) => a.label.localeCompare(b.label)).map(elkNode),
      };
    });
    for (const n of [...model.outside].sort((a, b) => a.id.localeCompare(b.id))) children.push(elkNode(n));
    const edgeModel = new Map();
    const edges = [...model.edges.values()].map((m, i) => (edgeModel.set(`e${i}`, m.id), {
      id: `e${i}`,
      sources: [nid(m.source)],
      targets: [nid(m.destination)],
      labels: [{ text: edgeText(m), width: Math.ceil(edgeText(m).length * 6.2) + 8, height: 14 }],
    }));
    const graph = {
      id: 'root',
      layoutOptions: {
        'elk.algorithm': 'layered',
        'elk.direction': direction,
        'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
        'elk.json.shapeCoords': 'ROOT',
        'elk.json.edgeCoords': 'ROOT',
        'elk.edgeRouting': 'ORTHOGONAL',
        'elk.layered.spacing.nodeNodeBetweenLayers': '40',
        'elk.spacing.nodeNode': '22',
        'elk.spacing.edgeLabel': '4',
        'elk.edgeLabels.inline': 'false',
        'elk.layered.nodePlacement.strategy': 'BRANDES_KOEPF',
        'elk.padding': '[top=16,left=16,bottom=16,right=16]',
      },
      children,
      edges,
    };
    const out = await elk.layout(graph);
    const byElk = new Map();
    for (const [id, e] of ids) byElk.set(e, id);
    return { out, byElk, groupNs, edgeModel };
  }

  draw(model, { out, byElk, groupNs, edgeModel }) {
    clear(this.viewport);
    const groups = s('g', { class: 'groups' });
    const edgesG = s('g', { class: 'edges' });
    const nodesG = s('g', { class: 'nodes' });
    this.nodeEls = new Map();
    this.edgeEls = new Map();

    const drawNode = (c) => {
      const id = byElk.get(c.id);
      const n = model.nodes.get(id);
      const desc = `${n.kind === 'workload' ? 'workload' : n.kind} ${n.namespace ? n.namespace + '/' : ''}${n.label}${n.addresses ? ' (' + n.addresses.join(', ') + ')' : ''}`;
      const g = s('g', {
        class: ['node', kindClass(n)], 'data-node-id': id, 'data-kind': n.kind, tabindex: 0, role: 'button',
        'aria-label': desc, transform: `translate(${c.x} ${c.y})`,
      },
      s('title', {}, desc),
      s('rect', { width: c.width, height: c.height, rx: n.kind === 'workload' ? 6 : 16 }),
      s('text', { class: 'node-label', x: c.width / 2, y: c.height / 2 + 4.5, 'text-anchor': 'middle' }, n.label));
      const pick = () => this.select({ type: 'node', id });
      g.addEventListener('click', pick);
      g.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); pick(); } });
      this.nodeEls.set(id, g);
      nodesG.appendChild(g);
    };

    for (const c of out.children || []) {
      if (c.children) {
        const ns = groupNs.get(c.id) || '';
        groups.appendChild(s('g', { class: 'ns-group', 'data-namespace': ns },
          s('rect', { x: c.x, y: c.y, width: c.width, height: c.height, rx: 10 }),
          s('text', { class: 'ns-label', x: c.x + 12, y: c.y + 19 }, `namespace ${ns}`)));
        c.children.forEach(drawNode);
      } else {
        drawNode(c);
      }
    }

    for (const e of out.edges || []) {
      const m = model.edges.get(edgeModel.get(e.id));
      if (!m) continue;
      let d = '';
      for (const sec of e.sections || []) {
        d += `M ${sec.startPoint.x} ${sec.startPoint.y} `;
        for (const b of sec.bendPoints || []) d += `L ${b.x} ${b.y} `;
        d += `L ${sec.endPoint.x} ${sec.endPoint.y} `;
      }
      const lab = (e.labels || [])[0];
      const text = s('text', { class: 'edge-label', x: lab ? lab.x + 4 : 0, y: lab ? lab.y + 11 : 0 }, edgeText(m));
      const g = s('g', {
        class: 'edge', 'data-edge': m.id, 'data-source': m.source, 'data-destination': m.destination,
        tabindex: 0, role: 'button',
      },
      s('title', {}, edgeDescription(m, model.nodes)),
      s('path', { class: 'edge-hit', d }),
      s('path', { class: 'edge-line', d }),
      text);
      const pick = () => this.select({ type: 'edge', id: m.id });
      g.addEventListener('click', pick);
      g.addEventListener('keydown', (ev) => { if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); pick(); } });
      this.edgeEls.set(m.id, g);
      edgesG.appendChild(g);
    }
    this.viewport.append(groups, edgesG, nodesG);
    this.size = { w: out.width || 0, h: out.height || 0 };
    this.update();
  }

  // Counts, colours, selection and highlight of the drawn elements.
  update() {
    const model = this.model;
    if (!model || !this.edgeEls) return;
    for (const [id, g] of this.edgeEls) {
      const m = model.edges.get(id);
      if (!m) continue;
      const hl = this.highlight ? this.highlight(m) : null;
      g.setAttribute('class', ['edge', `verdict-${m.verdict}`, m.audit ? 'audited' : '', hl ? `hl hl-${hl}` : '',
        this.selected && this.selected.type === 'edge' && this.selected.id === id ? 'selected' : ''].filter(Boolean).join(' '));
      g.setAttribute('aria-label', edgeDescription(m, model.nodes));
      g.setAttribute('data-forwarded', m.forwarded);
      g.setAttribute('data-dropped', m.dropped);
      g.setAttribute('data-audit', m.audit);
      g.querySelector('.edge-line').setAttribute('marker-end', `url(#arrow-${hl ? 'hl' : m.verdict})`);
      g.querySelector('.edge-label').textContent = edgeText(m);
      g.querySelector('title').textContent = edgeDescription(m, model.nodes);
    }
    const hlNodes = new Set();
    if (this.highlight) {
      for (const m of model.edges.values()) {
        if (this.highlight(m)) { hlNodes.add(m.source); hlNodes.add(m.destination); }
      }
    }
    for (const [id, g] of this.nodeEls) {
      g.classList.toggle('selected', !!(this.selected && this.selected.type === 'node' && this.selected.id === id));
      g.classList.toggle('hl', hlNodes.has(id));
    }
    this.svg.classList.toggle('highlighting', !!this.highlight);
  }

  setHighlight(fn) {
    this.highlight = fn;
    this.update();
  }

  select(sel) {
    this.selected = sel;
    this.update();
    this.onSelect(sel);
  }
}
