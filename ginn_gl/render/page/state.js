// The page's state in its address: `#step=5000&view=regions&neurons=1:*,2:3` with `ginn-gl render`'s
// option names and rules; a key left out takes ViewSettings' default, so a link means what render means.
// And the keymap, which drives the keys and the help that `?` shows.
GINN.HASH_KEYS = ["step", "view", "neurons", "solo", "highlight", "line-width", "contrast", "shading",
  "output-boundary", "domain", "size", "embed"];

// `text` as `L:I` (layer from 1, neuron from 0) -> flat hidden index (selection.parse_neuron_spec).
GINN.parseNeurons = function (text, sizes) {
  const widths = sizes.slice(1, -1), offsets = GINN.layerOffsets(sizes);
  const shown = new Array(offsets.length ? offsets[offsets.length - 1] + widths[widths.length - 1] : 0).fill(false);
  const spec = text.trim().toLowerCase();
  if (spec === "all") return shown.fill(true);
  if (spec === "none") return shown;
  for (const item of spec.split(",").map((s) => s.trim())) {
    const match = /^(\d+):(\d+|\*)$/.exec(item);
    if (!match) throw new Error(`neurons: ${item} is not L:I or L:*`);
    const layer = Number(match[1]);
    if (layer < 1 || layer > widths.length) throw new Error(`neurons: layer ${layer} does not exist (1..${widths.length})`);
    const width = widths[layer - 1];
    const neurons = match[2] === "*" ? [...Array(width).keys()] : [Number(match[2])];
    for (const neuron of neurons) {
      if (neuron >= width) throw new Error(`neurons: layer ${layer} has neurons 0..${width - 1}, not ${neuron}`);
      shown[offsets[layer - 1] + neuron] = true;
    }
  }
  return shown;
};

GINN.formatNeurons = function (shown, sizes) {
  if (shown.every(Boolean)) return "all";
  if (!shown.some(Boolean)) return "none";
  const items = [];
  GINN.layerOffsets(sizes).forEach((offset, layer) => {
    const part = shown.slice(offset, offset + sizes[layer + 1]);
    if (part.every(Boolean)) items.push(`${layer + 1}:*`);
    else part.forEach((on, i) => { if (on) items.push(`${layer + 1}:${i}`); });
  });
  return items.join(",");
};

GINN.parseOne = function (key, text, sizes) {
  const shown = GINN.parseNeurons(text, sizes);
  if (shown.filter(Boolean).length !== 1 || text.includes("*")) throw new Error(`${key}: ${text} must name one neuron, as L:I`);
  return shown.indexOf(true);
};

GINN.formatOne = function (index, sizes) {
  const offsets = GINN.layerOffsets(sizes), layer = offsets.findLastIndex((o) => o <= index);
  return `${layer + 1}:${index - offsets[layer]}`;
};

// Numbers as the address writes them; the state keeps exactly what a link would give back.
GINN.shortNumber = (v) => String(Number(v.toPrecision(9)));

GINN.parseDomain = function (text, constants) {
  const values = text.split(",").map(Number);
  if (values.length !== 4 || !values.every(Number.isFinite)) throw new Error(`domain: ${text} is not X0,Y0,X1,Y1`);
  const [x0, y0, x1, y1] = values;
  if (!(x1 > x0 && y1 > y0)) throw new Error(`domain: ${text} is empty`);
  if (Math.max(...values.map(Math.abs)) > constants.max_coordinate || Math.min(x1 - x0, y1 - y0) < constants.min_domain_span) {
    throw new Error(`domain: ${text} is beyond what float32 pixels can show`);
  }
  return values;
};

GINN.FLAGS = {"1": true, "true": true, "yes": true, "": true, "0": false, "false": false, "no": false};

// The address's settings over the defaults; throws nothing: a bad item is named in `problems` and left out.
GINN.parseHash = function (hash, data, sizes) {
  const d = data.defaults, choices = data.choices, problems = [];
  const settings = {step: null, view: d.view, lineWidth: d["line-width"], outputBoundary: d["output-boundary"],
    contrast: d.contrast, shading: d.shading, domain: d.domain.slice(), shown: GINN.parseNeurons(d.neurons, sizes),
    solo: null, highlighted: null, size: null, embed: false};
  for (const item of hash.replace(/^#/, "").split("&").filter(Boolean)) {
    const at = item.indexOf("="), key = decodeURIComponent(at < 0 ? item : item.slice(0, at));
    const value = at < 0 ? "" : decodeURIComponent(item.slice(at + 1));
    try {
      if (key === "step" || key === "size") {
        if (!/^\d+$/.test(value) || (key === "size" && (Number(value) < 1 || Number(value) > 8192))) {
          throw new Error(`${key}: ${value} is not a whole number${key === "size" ? " from 1 to 8192" : ""}`);
        }
        settings[key] = Number(value);
      } else if (key in choices) {
        if (!choices[key].includes(value)) throw new Error(`${key}: ${value} is not one of ${choices[key].join(", ")}`);
        settings[key] = value;
      } else if (key === "line-width") {
        const width = Number(value);
        if (!(Number.isFinite(width) && width > 0)) throw new Error(`line-width: ${value} is not a positive number`);
        settings.lineWidth = width;
      } else if (key === "output-boundary" || key === "embed") {
        if (!(value.toLowerCase() in GINN.FLAGS)) throw new Error(`${key}: ${value} is not 1 or 0`);
        settings[key === "embed" ? "embed" : "outputBoundary"] = GINN.FLAGS[value.toLowerCase()];
      } else if (key === "neurons") settings.shown = GINN.parseNeurons(value, sizes);
      else if (key === "solo") settings.solo = GINN.parseOne(key, value, sizes);
      else if (key === "highlight") settings.highlighted = GINN.parseOne(key, value, sizes);
      else if (key === "domain") settings.domain = GINN.parseDomain(value, data.constants);
      else throw new Error(`${key} is not a setting`);
    } catch (error) {
      problems.push(error.message);
    }
  }
  return {settings, problems};
};

// Only what differs from the defaults (the step always: a link shows one snapshot).
GINN.formatHash = function (s, data, sizes) {
  const d = data.defaults, parts = [`step=${s.step}`];
  if (s.view !== d.view) parts.push(`view=${s.view}`);
  const neurons = GINN.formatNeurons(s.shown, sizes);
  if (neurons !== d.neurons) parts.push(`neurons=${neurons}`);
  if (s.solo !== null) parts.push(`solo=${GINN.formatOne(s.solo, sizes)}`);
  if (s.highlighted !== null) parts.push(`highlight=${GINN.formatOne(s.highlighted, sizes)}`);
  if (s.lineWidth !== d["line-width"]) parts.push(`line-width=${GINN.shortNumber(s.lineWidth)}`);
  if (s.contrast !== d.contrast) parts.push(`contrast=${s.contrast}`);
  if (s.shading !== d.shading) parts.push(`shading=${s.shading}`);
  if (s.outputBoundary !== d["output-boundary"]) parts.push(`output-boundary=${s.outputBoundary ? 1 : 0}`);
  if (s.domain.some((v, i) => v !== d.domain[i])) parts.push(`domain=${s.domain.map(GINN.shortNumber).join(",")}`);
  if (s.size !== null) parts.push(`size=${s.size}`);
  if (s.embed) parts.push("embed=1");
  return "#" + parts.join("&");
};

// Keys (KeyboardEvent.key), how the help writes them, what they do (an App method) and whether held keys repeat.
GINN.KEYMAP = [
  [[" "], "Space", "play / pause the history; at the end it starts over", "togglePlay", false],
  [["+", "="], "+", "faster playback (also =)", "faster", true],
  [["-", "_"], "-", "slower playback", "slower", true],
  [["ArrowLeft"], "Left", "one snapshot back", "stepBack", true],
  [["ArrowRight"], "Right", "one snapshot forward", "stepForward", true],
  [["Home"], "Home", "the first snapshot", "first", false],
  [["End"], "End", "the newest snapshot", "last", false],
  [["t", "T"], "T", "target / prediction view", "toggleTargetView", false],
  [["e", "E"], "E", "error view", "toggleErrorView", false],
  [["g", "G"], "G", "regions view: a flat colour per linear region (activation pattern)", "toggleRegionsView", false],
  [["c", "C"], "C", "contrast: each prediction stretched from its own min to max, as the original drew it",
    "toggleContrast", false],
  [["1", "2", "3", "4", "5", "6", "7", "8", "9"], "1 .. 9", "toggle a hidden layer's lines", "toggleLayerKey", false],
  [["a", "A"], "A", "all lines", "allLines", false],
  [["n", "N"], "N", "no lines", "noLines", false],
  [["Tab"], "Tab", "runs side by side: the next cell alone, ..., then all again (or click a label)", "cycleCell", false],
  [["?", "F1"], "F1 or ?", "this help", "toggleHelp", false],
  [["Escape"], "Esc", "close this help", "closeHelp", false],
].map(([keys, label, help, action, repeat]) => ({keys, label, help, action, repeat}));
GINN.MOUSE_HELP = ["Mouse", "wheel zooms the view about the pointer, drag pans it, double-click resets it; " +
  "click or drag in the loss plot to seek; hover a neuron's toggle to draw its line thicker, Ctrl+click to see it alone"];
