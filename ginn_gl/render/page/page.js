// The page: one history slider keyed by step over every run, the view (a grid of cells on one
// canvas), the panel, keys, and the address kept in step with what is shown.
GINN.DATA = JSON.parse(document.getElementById("ginn-data").textContent);
GINN.WHEEL_ZOOM = 1.2;  // per wheel notch, as the window
GINN.SPEED_FACTOR = 1.5;
const $ = (id) => document.getElementById(id);

GINN.App = class {
  constructor(data, runs) {
    this.data = data;
    this.runs = runs;
    this.sizes = runs[0].sizes;  // the toggles and the address name neurons of the first run, as render does
    this.gridSteps = [...new Set(runs.flatMap((run) => run.steps))].sort((a, b) => a - b);
    this.state = {step: this.gridSteps[this.gridSteps.length - 1], playing: false, clock: 0,
      speed: data.constants.default_speed, xAxis: "step", alone: null, hover: null, help: false};
    this.ready = false;
    this.problems = [];
    this.lastHash = null;
    this.gl = null;
    try {
      this.gl = new GINN.GLView($("view"), data.programs, data.constants);
    } catch (error) {
      this.say(error instanceof GINN.NoWebGL2 ? "This page draws the network with WebGL2, which this browser does " +
        "not offer (or has switched off); open it in a current Firefox, Chrome, Edge or Safari." : String(error.message));
    }
    if (location.hash.length > 1) this.applyHash(location.hash);
    else this.applyInitial(data.initial);
    this.lossPlot = new GINN.LossPlot($("loss"), this);
    this.diagram = new GINN.Diagram($("diagram"), this);
    this.buildPanel();
    this.bindInput();
    this.changed(true);
    this.lastTime = null;
    requestAnimationFrame((time) => this.frame(time));
  }

  get primary() { return this.state.alone ?? 0; }

  say(text) {
    $("message").textContent = text;
    $("message").hidden = !text;
  }

  applyInitial(initial) {
    Object.assign(this.state, {view: initial.view, lineWidth: initial.line_width, outputBoundary: initial.output_boundary,
      contrast: initial.contrast, shading: initial.shading, domain: initial.domain.slice(), shown: initial.shown.slice(),
      solo: initial.solo, highlighted: initial.highlighted, size: null, embed: false});
  }

  applyHash(hash) {
    const {settings, problems} = GINN.parseHash(hash, this.data, this.sizes);
    const step = settings.step;
    delete settings.step;
    Object.assign(this.state, settings);
    if (step !== null) this.state.step = step;
    this.problems = problems;
    this.say(problems.length ? `This link's ${problems.join("; ")}: left out.` : this.gl ? "" : $("message").textContent);
    document.body.classList.toggle("embed", this.state.embed);
    this.lastHash = hash;
  }

  // ---- what each cell shows -------------------------------------------------------------------

  snapshotOf(run) { return Math.max(GINN.searchRight(run.steps, this.state.step) - 1, 0); }

  stepIndex() { return Math.max(GINN.searchRight(this.gridSteps, this.state.step) - 1, 0); }

  sameShape(run) { return run.sizes.length === this.sizes.length && run.sizes.every((n, i) => n === this.sizes[i]); }

  // The view settings for `run` (view.view_for): another shape shows its neurons by layer and index.
  viewFor(run) {
    const s = this.state, highlighted = s.hover ?? s.highlighted;
    const view = {view: s.view, lineWidth: s.lineWidth, outputBoundary: s.outputBoundary, contrast: s.contrast,
      shading: s.shading, domain: s.domain, shown: s.shown, solo: s.solo, highlighted};
    if (this.sameShape(run)) return view;
    const shown = new Array(run.hidden).fill(true), mine = GINN.layerOffsets(this.sizes);
    GINN.layerOffsets(run.sizes).forEach((start, layer) => {
      if (layer >= mine.length) return;
      const width = Math.min(run.sizes[layer + 1], this.sizes[layer + 1]);
      for (let i = 0; i < width; i++) shown[start + i] = s.shown[mine[layer] + i];
    });
    return {...view, shown, solo: null, highlighted: null};
  }

  visibleRuns() { return this.state.alone === null ? this.runs.map((_, k) => k) : [this.state.alone]; }

  // ---- changes --------------------------------------------------------------------------------

  changed(hash = true) {
    this.dirty = true;
    if (hash) this.hashDirty = true;
  }

  seek(step) { this.state.step = step; this.state.playing = false; this.changed(); }

  move(count, wrap = false) {
    const n = this.gridSteps.length;
    let i = this.stepIndex() + count;
    i = wrap ? ((i % n) + n) % n : Math.min(Math.max(i, 0), n - 1);
    this.state.step = this.gridSteps[i];
    this.changed();
  }

  seekPlot(value) {  // the snapshot nearest the plot's x
    const steps = this.gridSteps;
    let i = Math.min(GINN.searchLeft(steps, value), steps.length - 1);
    if (i > 0 && Math.abs(steps[i - 1] - value) < Math.abs(steps[i] - value)) i -= 1;
    this.seek(steps[i]);
  }

  togglePlay() {
    const s = this.state;
    s.playing = !s.playing;
    s.clock = 0;
    if (s.playing && this.stepIndex() === this.gridSteps.length - 1) this.state.step = this.gridSteps[0];
    this.changed();
  }

  faster() { this.setSpeed(this.state.speed * GINN.SPEED_FACTOR); }
  slower() { this.setSpeed(this.state.speed / GINN.SPEED_FACTOR); }
  setSpeed(speed) {
    const c = this.data.constants;
    this.state.speed = Math.min(c.max_speed, Math.max(c.min_speed, speed));
    this.changed(false);
  }

  stepBack() { this.state.playing = false; this.move(-1); }
  stepForward() { this.state.playing = false; this.move(1); }
  first() { this.seek(this.gridSteps[0]); }
  last() { this.seek(this.gridSteps[this.gridSteps.length - 1]); }
  toggleView(name) { this.state.view = this.state.view === name ? "prediction" : name; this.changed(); }
  toggleTargetView() { this.toggleView("target"); }
  toggleErrorView() { this.toggleView("error"); }
  toggleRegionsView() { this.toggleView("regions"); }
  toggleContrast() { this.state.contrast = this.state.contrast === "stretch" ? "none" : "stretch"; this.changed(); }
  toggleNeuron(i) { this.state.shown[i] = !this.state.shown[i]; this.changed(); }
  toggleSolo(i) { this.state.solo = this.state.solo === i ? null : i; this.changed(); }
  setAll(on) { this.state.shown.fill(on); this.changed(); }
  allLines() { this.setAll(true); }
  noLines() { this.setAll(false); }

  setLayer(layer, on) {
    const start = GINN.layerOffsets(this.sizes)[layer];
    this.state.shown.fill(on, start, start + this.sizes[layer + 1]);
    this.changed();
  }

  toggleLayerKey(key) {  // number key N: hidden layer N's lines, all on or else all off
    const layer = Number(key) - 1, offsets = GINN.layerOffsets(this.sizes);
    if (layer >= offsets.length) return;
    const part = this.state.shown.slice(offsets[layer], offsets[layer] + this.sizes[layer + 1]);
    this.setLayer(layer, !part.every(Boolean));
  }

  cycleCell() {
    if (this.runs.length < 2) return;
    const alone = this.state.alone;
    this.state.alone = alone === null ? 0 : alone + 1 < this.runs.length ? alone + 1 : null;
    this.changed(false);
  }

  toggleHelp() { this.state.help = !this.state.help; $("help").hidden = !this.state.help; }
  closeHelp() { this.state.help = false; $("help").hidden = true; }
  setHover(index) { this.state.hover = index; this.changed(false); }

  setDomain(domain) {  // kept as the address writes it, so a link gives back this very picture
    this.state.domain = domain.map((v) => Number(GINN.shortNumber(v)));
    this.changed();
  }

  zoomAbout([px, py], factor) {  // ViewSettings.zoom_about
    const [x0, y0, x1, y1] = this.state.domain, c = this.data.constants;
    const span = Math.min(Math.max((x1 - x0) / factor, c.min_span), c.max_span), ratio = span / (x1 - x0);
    this.setDomain([px + (x0 - px) * ratio, py + (y0 - py) * ratio, px + (x1 - px) * ratio, py + (y1 - py) * ratio]);
  }

  // ---- drawing --------------------------------------------------------------------------------

  layout() {
    const visible = this.visibleRuns(), columns = Math.ceil(Math.sqrt(visible.length));
    const rows = Math.ceil(visible.length / columns), stage = $("stage");
    const margin = this.state.embed ? 0 : 16;
    const side = this.state.size ?? Math.max(16, Math.floor(Math.min((stage.clientWidth - margin) / columns,
      (stage.clientHeight - margin) / rows)));
    const ratio = window.devicePixelRatio || 1, device = Math.round(side * ratio), canvas = $("view");
    canvas.style.width = `${columns * side}px`;
    canvas.style.height = `${rows * side}px`;
    if (canvas.width !== columns * device || canvas.height !== rows * device) {
      canvas.width = columns * device;
      canvas.height = rows * device;
    }
    return {visible, columns, rows, side, device, ratio};
  }

  render() {
    const grid = this.layout();
    this.grid = grid;
    const cells = grid.visible.map((k, position) => {
      const run = this.runs[k], column = position % grid.columns, row = Math.floor(position / grid.columns);
      return {run, index: this.snapshotOf(run), view: this.viewFor(run),
        viewport: [column * grid.device, (grid.rows - 1 - row) * grid.device, grid.device, grid.device]};
    });
    if (this.gl) this.gl.draw(cells, $("view").width, $("view").height, grid.device / grid.side);
    this.drawLabels(grid);
  }

  drawLabels(grid) {
    const box = $("labels");
    box.replaceChildren();
    if (this.runs.length < 2 || !this.data.labels) return;
    grid.visible.forEach((k, position) => {
      const run = this.runs[k], index = this.snapshotOf(run), label = document.createElement("div");
      label.className = "cell-label";
      label.style.left = `${(position % grid.columns) * grid.side}px`;
      label.style.top = `${Math.floor(position / grid.columns) * grid.side}px`;
      label.style.maxWidth = `${grid.side}px`;
      label.style.borderLeft = `6px solid ${GINN.css(GINN.SEED_COLOURS[k % 9])}`;
      label.style.pointerEvents = "auto";
      label.style.cursor = "pointer";
      label.title = "click: this run alone, or all again (Tab)";
      label.textContent = `${run.name}   step ${run.steps[index].toLocaleString("en")}   loss ${run.snap_loss[index].toFixed(4)}`;
      label.addEventListener("click", () => { this.state.alone = this.state.alone === null ? k : null; this.changed(false); });
      box.append(label);
    });
  }

  snapshotPNG() {  // what the view shows now, drawn at once (tests and screenshots read it)
    this.render();
    return $("view").toDataURL("image/png");
  }

  frame(time) {
    const dt = this.lastTime === null ? 0 : Math.min((time - this.lastTime) / 1000, 0.25);
    this.lastTime = time;
    const s = this.state;
    if (s.playing) {
      s.clock += dt * s.speed;
      const whole = Math.floor(s.clock);
      if (whole) { s.clock -= whole; this.move(whole, true); }
    }
    if (this.dirty) {
      this.dirty = false;
      this.render();
      this.updatePanel();
      this.ready = true;
    }
    if (this.hashDirty) {
      this.hashDirty = false;
      this.writeHash();
    }
    requestAnimationFrame((t) => this.frame(t));
  }

  writeHash() {
    const hash = GINN.formatHash({...this.state, step: this.state.step}, this.data, this.sizes);
    if (hash === location.hash) return;
    this.lastHash = hash;
    try {
      history.replaceState(null, "", hash);
    } catch (error) {  // a browser that refuses history on file:// pages: the hash alone, no new entry
      location.replace(hash);
    }
  }
};
