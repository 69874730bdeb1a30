// The panel's widgets and the page's input: keys, the view's wheel, drag and double-click, the address.
GINN.STATUS_MARKS = {0: "not measured", 1: "dead: never active on the picture's pixels",
  2: "always on: active on every pixel, so its line never crosses the picture", 3: "switching: its line crosses the picture"};

Object.assign(GINN.App.prototype, {
  buildPanel() {
    const run = this.runs[0], meta = run.meta;
    $("title").textContent = this.runs.length === 1
      ? `${run.name}: ${run.describe} ${run.activation}, seed ${meta.seed}, ${meta.image} ${run.target.width}x${run.target.height}, ` +
        `${(meta.steps_done ?? meta.steps).toLocaleString("en")} steps`
      : `${this.runs.length} runs side by side: ${this.runs.map((r) => r.name).join(", ")}`;
    $("slider").max = String(this.gridSteps.length - 1);
    $("slider").addEventListener("input", () => this.seek(this.gridSteps[Number($("slider").value)]));
    for (const [id, action] of [["first", "first"], ["back", "stepBack"], ["play", "togglePlay"],
      ["forward", "stepForward"], ["last", "last"]]) $(id).addEventListener("click", () => this[action]());
    const c = this.data.constants, logRange = Math.log(c.max_speed / c.min_speed);
    $("speed").addEventListener("input", () => this.setSpeed(c.min_speed * Math.exp(logRange * $("speed").value / 1000)));
    this.speedPosition = () => Math.round(1000 * Math.log(this.state.speed / c.min_speed) / logRange);
    for (const name of this.data.choices.view) {
      const label = document.createElement("label"), input = document.createElement("input");
      input.type = "radio";
      input.name = "view";
      input.value = name;
      input.addEventListener("change", () => { this.state.view = name; this.changed(); });
      label.append(input, ` ${name}`);
      $("views").append(label);
    }
    $("output-boundary").addEventListener("change", () => { this.state.outputBoundary = $("output-boundary").checked; this.changed(); });
    $("contrast").addEventListener("change", () => this.toggleContrast());
    $("shading").addEventListener("change", () => {
      this.state.shading = $("shading").checked ? "gradient" : "flat";
      this.changed();
    });
    $("line-width").addEventListener("input", () => { this.state.lineWidth = Number($("line-width").value); this.changed(); });
    $("reset-zoom").addEventListener("click", () => this.setDomain(this.data.constants.default_domain));
    $("all").addEventListener("click", () => this.setAll(true));
    $("none").addEventListener("click", () => this.setAll(false));
    for (const input of document.querySelectorAll("input[name=x-axis]")) {
      input.addEventListener("change", () => { this.state.xAxis = input.value; this.changed(false); });
    }
    this.buildToggles();
    const table = $("help-keys");
    for (const [keys, help] of [...GINN.KEYMAP.map((b) => [b.label, b.help]), GINN.MOUSE_HELP]) {
      const row = table.insertRow();
      row.insertCell().textContent = keys;
      row.insertCell().textContent = help;
    }
  },

  buildToggles() {
    const box = $("toggles"), run = this.runs[0], offsets = GINN.layerOffsets(this.sizes);
    this.toggles = [];
    offsets.forEach((offset, layer) => {
      const row = document.createElement("div"), name = document.createElement("span");
      row.className = "layer-row";
      name.className = "layer-name";
      name.textContent = `L${layer + 1}`;
      row.append(name);
      for (const [text, on] of [["all", true], ["none", false]]) {
        const button = document.createElement("button");
        button.className = "small";
        button.textContent = text;
        button.addEventListener("click", () => this.setLayer(layer, on));
        row.append(button);
      }
      for (let i = 0; i < this.sizes[layer + 1]; i++) {
        const index = offset + i, button = document.createElement("button");
        button.className = "neuron";
        button.dataset.neuron = `${layer + 1}:${i}`;
        button.dataset.rgb = JSON.stringify(run.colours.slice(3 * index, 3 * index + 3));
        button.addEventListener("click", (event) => {
          if (event.ctrlKey || event.metaKey || event.shiftKey) this.toggleSolo(index);
          else this.toggleNeuron(index);
        });
        button.addEventListener("pointerenter", () => this.setHover(index));
        button.addEventListener("pointerleave", () => { if (this.state.hover === index) this.setHover(null); });
        this.toggles.push(button);
        row.append(button);
      }
      box.append(row);
    });
  },

  neuronTitle(index) {
    const offsets = GINN.layerOffsets(this.sizes), layer = offsets.findLastIndex((o) => o <= index);
    const status = this.runs[0].statusAt(this.snapshotOf(this.runs[0]))[index];
    return `layer ${layer + 1} (${this.data.palette.families[layer]}), neuron ${index - offsets[layer]}: ` +
      `${this.state.shown[index] ? "shown" : "hidden"}; ${GINN.STATUS_MARKS[status]}.\n` +
      "Click to toggle, Ctrl+click to show it alone";
  },

  updatePanel() {
    const s = this.state, run = this.runs[this.primary], index = this.snapshotOf(run), position = this.stepIndex();
    $("slider").value = String(position);
    $("history-text").textContent = `step ${run.steps[index].toLocaleString("en")}   loss ${run.snap_loss[index].toFixed(4)}` +
      `   (${position + 1} of ${this.gridSteps.length})`;
    $("play").textContent = s.playing ? "Pause" : "Play";
    $("speed").value = String(this.speedPosition());
    $("speed-text").textContent = `play ${Number(s.speed.toPrecision(3))} snapshots/s`;
    for (const input of document.querySelectorAll("input[name=view]")) input.checked = input.value === s.view;
    $("output-boundary").checked = s.outputBoundary;
    $("contrast").checked = s.contrast === "stretch";
    $("shading").checked = s.shading === "gradient";
    $("line-width").value = String(s.lineWidth);
    $("line-width-text").textContent = `${s.lineWidth.toFixed(1)} px`;
    const zoom = 1 / (s.domain[2] - s.domain[0]);
    $("zoom-text").textContent = s.domain.every((v, i) => v === this.data.constants.default_domain[i]) ? ""
      : `x${Number(zoom.toPrecision(2))}`;
    const status = this.runs[0].statusAt(this.snapshotOf(this.runs[0]));
    this.toggles.forEach((button, i) => {
      const rgb = JSON.parse(button.dataset.rgb), on = s.shown[i];
      button.style.background = GINN.css(on ? rgb : rgb.map((v) => 0.3 * v));
      button.classList.toggle("on", on);
      button.classList.toggle("dead", status[i] === 1);
      button.classList.toggle("always", status[i] === 2);
      button.classList.toggle("solo", s.solo === i);
      button.title = this.neuronTitle(i);
    });
    $("neuron-text").textContent = s.solo !== null ? `solo ${GINN.formatOne(s.solo, this.sizes)} (Ctrl+click it again: all)`
      : `${s.shown.filter(Boolean).length} of ${s.shown.length} lines; Ctrl+click: solo`;
    if (Array.from(status).every((v) => v > 0)) {
      const counts = GINN.layerOffsets(this.sizes).map((offset, layer) => {
        const c = [0, 0, 0];
        for (let i = offset; i < offset + this.sizes[layer + 1]; i++) c[status[i] - 1] += 1;
        return `L${layer + 1} ${c[2]}/${c[0]}/${c[1]}`;
      });
      $("status-text").textContent = `switching / dead (struck) / always on (dot):  ${counts.join("   ")}`;
    } else $("status-text").textContent = "";
    if (!s.embed) {
      this.lossPlot.draw();
      this.diagram.draw();
    }
  },

  bindInput() {
    window.addEventListener("keydown", (event) => this.key(event), true);
    // Buttons keep no focus, so Space is the page's play key and never a button's click.
    document.addEventListener("mousedown", (event) => { if (event.target.closest("button")) event.preventDefault(); });
    window.addEventListener("hashchange", () => {
      if (location.hash !== this.lastHash) { this.applyHash(location.hash); this.changed(); }
    });
    window.addEventListener("resize", () => this.changed(false));
    const canvas = $("view");
    let drag = null;
    canvas.addEventListener("pointerdown", (event) => {
      canvas.setPointerCapture(event.pointerId);
      drag = [event.clientX, event.clientY];
      canvas.classList.add("dragging");
    });
    canvas.addEventListener("pointermove", (event) => {
      if (!drag || !this.grid) return;
      const [x0, y0, x1, y1] = this.state.domain, side = this.grid.side;
      const dx = event.clientX - drag[0], dy = event.clientY - drag[1];
      drag = [event.clientX, event.clientY];
      if (dx || dy) this.setDomain([x0 - dx / side * (x1 - x0), y0 - dy / side * (y1 - y0), x1 - dx / side * (x1 - x0),
        y1 - dy / side * (y1 - y0)]);
    });
    const release = () => { drag = null; canvas.classList.remove("dragging"); };
    canvas.addEventListener("pointerup", release);
    canvas.addEventListener("pointercancel", release);
    canvas.addEventListener("dblclick", () => this.setDomain(this.data.constants.default_domain));
    canvas.addEventListener("wheel", (event) => {
      event.preventDefault();
      const notches = -event.deltaY / (event.deltaMode === 1 ? 3 : event.deltaMode === 2 ? 0.1 : 100);
      this.zoomAbout(this.pointAt(event), GINN.WHEEL_ZOOM ** notches);
    }, {passive: false});
  },

  pointAt(event) {  // the input-plane point under the pointer, in whichever cell it is
    const rect = $("view").getBoundingClientRect(), side = this.grid.side;
    const fx = ((event.clientX - rect.left) % side) / side, fy = ((event.clientY - rect.top) % side) / side;
    const [x0, y0, x1, y1] = this.state.domain;
    return [x0 + (x1 - x0) * fx, y0 + (y1 - y0) * fy];
  },

  key(event) {
    const binding = GINN.KEYMAP.find((b) => b.keys.includes(event.key));
    if (!binding || event.ctrlKey || event.metaKey || event.altKey) return;
    event.preventDefault();
    event.stopPropagation();
    if (event.repeat && !binding.repeat) return;
    this[binding.action](event.key);
  },
});
