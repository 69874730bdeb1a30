// The panel's loss plot and network diagram on 2D canvases, as the window's (ginn_gl/ui/lossplot.py,
// ginn_gl/ui/diagram.py) draw them.
GINN.SEED_COLOURS = [[0.35, 0.75, 1.0], [1.0, 0.55, 0.25], [0.45, 0.9, 0.45], [0.95, 0.4, 0.7], [0.95, 0.85, 0.3],
  [0.6, 0.5, 1.0], [0.3, 0.9, 0.85], [0.9, 0.3, 0.3], [0.8, 0.8, 0.8]];
GINN.POSITIVE_EDGE = [0.86, 0.88, 0.95];
GINN.NEGATIVE_EDGE = [1.0, 0.55, 0.18];
GINN.MARKER = "rgba(255, 217, 51, 0.9)";
GINN.MAX_EDGES = 3000;

GINN.css = (rgb, alpha = 1) => `rgba(${rgb.map((v) => Math.round(255 * v)).join(", ")}, ${alpha})`;

// A canvas sized to its CSS box in device pixels; returns the 2D context in CSS pixels.
GINN.fitCanvas = function (canvas) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth, height = canvas.clientHeight;
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  return {ctx, width, height};
};

// Round ticks on a log axis over [low, high], as many as fit in `most` (lossplot.log_ticks).
GINN.logTicks = function (low, high, most = 3) {
  if (!(low > 0 && high > low)) return [];
  let values = [];
  for (const mantissas of [[1, 1.5, 2, 3, 4, 5, 7], [1, 2, 3, 5], [1, 2, 5], [1, 3], [1]]) {
    values = [];
    for (let k = Math.floor(Math.log10(low)); k <= Math.ceil(Math.log10(high)); k++) {
      for (const m of mantissas) {
        const v = Number((m * 10 ** k).toPrecision(12));
        if (v >= low && v <= high) values.push(v);
      }
    }
    if (values.length <= most) return values;
  }
  const stride = Math.ceil(values.length / most);
  return values.filter((_, i) => i % stride === 0);
};

GINN.linearTicks = function (low, high, most = 4) {
  if (!(high > low)) return [low];
  const power = 10 ** Math.floor(Math.log10((high - low) / most));
  for (const scale of [1, 10, 100]) {
    for (const m of [1, 2, 5]) {
      const step = m * power * scale, ticks = [];
      for (let v = Math.ceil(low / step) * step; v <= high + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
      if (ticks.length <= most) return ticks;
    }
  }
  return [low, high];
};

GINN.tickLabel = (v) => (Math.abs(v) >= 10000 ? `${Number((v / 1000).toPrecision(4))}k` : `${Number(v.toPrecision(4))}`);

GINN.LossPlot = class {
  constructor(canvas, app) {
    this.canvas = canvas;
    this.app = app;
    this.box = null;  // the plot area, for mapping the pointer back to a step
    const seek = (event) => {
      if (!this.box) return;
      const rect = canvas.getBoundingClientRect();
      this.app.seekPlot(this.invert(event.clientX - rect.left));
    };
    canvas.addEventListener("pointerdown", (event) => { canvas.setPointerCapture(event.pointerId); seek(event); });
    canvas.addEventListener("pointermove", (event) => { if (event.buttons & 1) seek(event); });
  }

  // Plot x of `steps`: the step, its log, or its index among the slider's steps.
  x(step) {
    const axis = this.app.state.xAxis;
    if (axis === "snapshot") return GINN.searchLeft(this.app.gridSteps, step);
    return axis === "log step" ? Math.log10(Math.max(step, 1)) : step;
  }

  invert(px) {
    const {left, width, x0, x1} = this.box;
    const value = x0 + (x1 - x0) * Math.min(Math.max((px - left) / width, 0), 1);
    const axis = this.app.state.xAxis;
    if (axis === "snapshot") return this.app.gridSteps[Math.round(value)];
    return axis === "log step" ? 10 ** value : value;
  }

  draw() {
    const {ctx, width, height} = GINN.fitCanvas(this.canvas);
    const app = this.app, runs = app.runs, single = runs.length === 1;
    const curves = runs.map((run, k) => ({
      xs: run.steps.map((s) => this.x(s)), ys: run.snap_loss, colour: GINN.SEED_COLOURS[k % 9],
      keep: run.steps.map((s) => app.state.xAxis !== "log step" || s > 0), width: k === app.primary ? 2 : 1.5}));
    if (single && runs[0].loss.length > 1) {
      const run = runs[0];
      curves.unshift({xs: run.loss_steps.map((s) => this.x(s)), ys: run.loss, colour: [0.62, 0.62, 0.7], alpha: 0.45,
        keep: run.loss_steps.map((s) => app.state.xAxis !== "log step" || s > 0), width: 1, faint: true});
    }
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (const c of curves) {
      c.xs.forEach((x, i) => {
        if (!c.keep[i]) return;
        x0 = Math.min(x0, x); x1 = Math.max(x1, x);
        const y = Math.max(c.ys[i], 1e-9);
        y0 = Math.min(y0, y); y1 = Math.max(y1, y);
      });
    }
    if (!(x1 > x0)) x1 = x0 + 1;
    if (!(y1 > y0)) { y0 /= 2; y1 *= 2; }
    const ly0 = Math.log10(y0), ly1 = Math.log10(y1), pad = 0.04 * (ly1 - ly0);
    const box = {left: 40, top: 6, width: width - 58, height: height - 24, x0, x1};
    this.box = box;
    const px = (x) => box.left + box.width * (x - x0) / (x1 - x0);
    const py = (y) => box.top + box.height * (1 - (Math.log10(Math.max(y, 1e-9)) - ly0 + pad) / (ly1 - ly0 + 2 * pad));
    ctx.font = "11px system-ui, sans-serif";
    ctx.fillStyle = "#9a9aa6";
    ctx.strokeStyle = "rgba(255, 255, 255, 0.08)";
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    for (const v of GINN.logTicks(y0, y1)) {
      ctx.fillText(GINN.tickLabel(v), box.left - 4, py(v));
      ctx.beginPath(); ctx.moveTo(box.left, py(v)); ctx.lineTo(box.left + box.width, py(v)); ctx.stroke();
    }
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    const xTicks = app.state.xAxis === "log step" ? GINN.linearTicks(Math.ceil(x0), Math.floor(x1), 6)
      .filter((v) => Number.isInteger(v)) : GINN.linearTicks(x0, x1, 5);
    for (const v of xTicks) {
      const label = app.state.xAxis === "log step" ? GINN.tickLabel(10 ** v) : GINN.tickLabel(v);
      ctx.fillText(label, px(v), box.top + box.height + 3);
    }
    ctx.save();
    ctx.beginPath(); ctx.rect(box.left, box.top, box.width, box.height); ctx.clip();
    for (const c of curves) {
      ctx.strokeStyle = GINN.css(c.colour, c.alpha || 1);
      ctx.lineWidth = c.width;
      ctx.beginPath();
      let started = false;
      c.xs.forEach((x, i) => {
        if (!c.keep[i]) return;
        if (started) ctx.lineTo(px(x), py(c.ys[i])); else ctx.moveTo(px(x), py(c.ys[i]));
        started = true;
      });
      ctx.stroke();
    }
    const shown = px(this.x(app.state.step));
    ctx.strokeStyle = GINN.MARKER;
    ctx.lineWidth = 1.5;
    ctx.beginPath(); ctx.moveTo(shown, box.top); ctx.lineTo(shown, box.top + box.height); ctx.stroke();
    ctx.restore();
    ctx.strokeStyle = "#3a3a48";
    ctx.strokeRect(box.left + 0.5, box.top + 0.5, box.width, box.height);
    if (single) {  // the legend, top right, where a falling loss never is
      ctx.textAlign = "right";
      ctx.fillStyle = GINN.css(GINN.SEED_COLOURS[0]);
      ctx.fillText("full image", box.left + box.width - 6, box.top + 4);
      ctx.fillStyle = "rgba(158, 158, 178, 0.9)";
      ctx.fillText("minibatch", box.left + box.width - 70, box.top + 4);
    }
  }
};

GINN.searchLeft = function (sorted, value) {  // numpy.searchsorted(side="left")
  let lo = 0, hi = sorted.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (sorted[mid] < value) lo = mid + 1; else hi = mid; }
  return lo;
};

GINN.searchRight = function (sorted, value) {  // numpy.searchsorted(side="right")
  let lo = 0, hi = sorted.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (sorted[mid] <= value) lo = mid + 1; else hi = mid; }
  return lo;
};

GINN.Diagram = class {
  constructor(canvas, app) {
    this.canvas = canvas;
    this.app = app;
    this.nodes = [];  // [x, y, hidden index] where they were drawn
    this.hovered = null;
    canvas.addEventListener("pointermove", (event) => this.hover(event));
    canvas.addEventListener("pointerleave", () => { this.hovered = null; app.setHover(null); });
    canvas.addEventListener("click", (event) => {
      if (this.hovered === null) return;
      if (event.ctrlKey || event.metaKey || event.shiftKey) app.toggleSolo(this.hovered);
      else app.toggleNeuron(this.hovered);
    });
  }

  hover(event) {
    if (!this.app.sameShape(this.app.runs[this.app.primary])) return;  // the toggles name the first run's neurons
    const rect = this.canvas.getBoundingClientRect(), x = event.clientX - rect.left, y = event.clientY - rect.top;
    let best = null, nearest = (this.radius + 2) ** 2;
    for (const [nx, ny, index] of this.nodes) {
      const d = (nx - x) ** 2 + (ny - y) ** 2;
      if (d <= nearest) { best = index; nearest = d; }
    }
    this.canvas.style.cursor = best === null ? "default" : "pointer";
    this.canvas.title = best === null ? "" : this.app.neuronTitle(best);
    if (best !== this.hovered) { this.hovered = best; this.app.setHover(best); }
  }

  draw() {
    const {ctx, width, height} = GINN.fitCanvas(this.canvas);
    const app = this.app, run = app.runs[app.primary], sizes = run.sizes, view = app.viewFor(run);
    const flat = GINN.weightsAt(run, app.snapshotOf(run)), slices = run.slices;
    const left = 14, span = width - 28, columns = sizes.length, solo = view.solo;
    const at = (column, i, n) => [left + span * column / (columns - 1), height * (i + 0.5) / n];
    let cut = 0;
    const total = slices.reduce((a, s) => a + s.nIn * s.nOut, 0);
    if (total > GINN.MAX_EDGES) {  // a large network: only its strongest weights
      const magnitudes = [];
      for (const s of slices) for (let i = 0; i < s.nIn * s.nOut; i++) magnitudes.push(Math.abs(flat[s.w + i]));
      magnitudes.sort((a, b) => a - b);
      cut = magnitudes[total - GINN.MAX_EDGES];
    }
    const fade = solo !== null ? 0.3 : 1.0;
    slices.forEach((s, layer) => {
      let scale = 0;
      for (let i = 0; i < s.nIn * s.nOut; i++) scale = Math.max(scale, Math.abs(flat[s.w + i]));
      scale = scale || 1;
      for (let k = 0; k < s.nOut; k++) {
        for (let j = 0; j < s.nIn; j++) {
          const w = flat[s.w + k * s.nIn + j];
          if (Math.abs(w) < cut) continue;
          const v = w / scale;
          ctx.strokeStyle = GINN.css(v > 0 ? GINN.POSITIVE_EDGE : GINN.NEGATIVE_EDGE, (0.12 + 0.75 * Math.abs(v)) * fade);
          ctx.lineWidth = 0.6 + 2.6 * Math.abs(v);
          ctx.beginPath(); ctx.moveTo(...at(layer, j, s.nIn)); ctx.lineTo(...at(layer + 1, k, s.nOut)); ctx.stroke();
        }
      }
    });
    const offsets = GINN.layerOffsets(sizes);
    if (solo !== null) {  // its incoming weights, bright and as thick as their weight
      const layer = offsets.findLastIndex((o) => o <= solo), neuron = solo - offsets[layer], s = slices[layer];
      let scale = 0;
      for (let j = 0; j < s.nIn; j++) scale = Math.max(scale, Math.abs(flat[s.w + neuron * s.nIn + j]));
      for (let j = 0; j < s.nIn; j++) {
        const w = flat[s.w + neuron * s.nIn + j];
        ctx.strokeStyle = GINN.css(w > 0 ? GINN.POSITIVE_EDGE : GINN.NEGATIVE_EDGE);
        ctx.lineWidth = 1.0 + 3.5 * Math.abs(w) / (scale || 1);
        ctx.beginPath(); ctx.moveTo(...at(layer, j, s.nIn)); ctx.lineTo(...at(layer + 1, neuron, s.nOut)); ctx.stroke();
      }
    }
    const radius = Math.max(2.5, Math.min(6.0, 0.42 * height / Math.max(...sizes)));
    this.radius = radius;
    this.nodes = [];
    ctx.font = "11px system-ui, sans-serif";
    ctx.textAlign = "center";
    sizes.forEach((n, column) => {
      for (let i = 0; i < n; i++) {
        const [x, y] = at(column, i, n);
        if (column === 0 || column === columns - 1) {
          const colour = column === 0 ? GINN.DATA.palette.input : GINN.DATA.palette.output;
          ctx.fillStyle = GINN.css(colour);
          ctx.beginPath(); ctx.arc(x, y, radius, 0, 2 * Math.PI); ctx.fill();
          ctx.fillText(column === 0 ? "xy"[i] : "p", x, y - radius - 4);
          continue;
        }
        const index = offsets[column - 1] + i, rgb = run.colours.slice(3 * index, 3 * index + 3);
        this.nodes.push([x, y, index]);
        ctx.beginPath(); ctx.arc(x, y, radius, 0, 2 * Math.PI);
        if (view.shown[index]) { ctx.fillStyle = GINN.css(rgb); ctx.fill(); } else {
          ctx.fillStyle = "rgb(31, 31, 36)"; ctx.fill();
          ctx.strokeStyle = GINN.css(rgb, 0.8); ctx.lineWidth = 1.2; ctx.stroke();
        }
        if (index === solo || index === view.highlighted) {
          ctx.strokeStyle = index === solo ? "rgb(255, 217, 51)" : "#fff";
          ctx.lineWidth = 2; ctx.beginPath(); ctx.arc(x, y, radius + 3, 0, 2 * Math.PI); ctx.stroke();
        }
      }
    });
  }
};
