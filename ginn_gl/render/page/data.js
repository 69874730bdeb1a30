"use strict";
// The page's data: the JSON block written by ginn_gl/render/webpage.py, decoded; and the network in
// float64, as ginn_gl/core/network.py evaluates it (the contrast stretch's range, the diagram).
const GINN = {};  // the page's scripts share this one namespace

GINN.bytes = function (base64) {
  const text = atob(base64);
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
};

GINN.inflate = async function (base64) {
  const stream = new Blob([GINN.bytes(base64)]).stream().pipeThrough(new DecompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
};

// encode_weights' inverse: byte planes -> per parameter XOR deltas -> float32 bits, snapshot-major.
GINN.decodeWeights = async function (weights) {
  const planes = await GINN.inflate(weights.data);
  const count = weights.count, params = weights.params, n = count * params;
  if (planes.length !== 4 * n) throw new Error("the page's weights are damaged");
  const bits = new Uint32Array(n);
  for (let p = 0; p < params; p++) {
    let word = 0;
    for (let s = 0; s < count; s++) {
      const i = p * count + s;
      word ^= planes[i] | (planes[n + i] << 8) | (planes[2 * n + i] << 16) | (planes[3 * n + i] << 24);
      bits[s * params + p] = word;
    }
  }
  return new Float32Array(bits.buffer);  // every browser's typed arrays are little-endian in practice
};

GINN.loadRun = async function (run) {
  run.flat = await GINN.decodeWeights(run.weights);
  run.params = run.weights.params;
  run.count = run.weights.count;
  const target = await GINN.inflate(run.target.data);
  run.targetPixels = target.map((v) => v * 255);  // R8: white 255
  const status = await GINN.inflate(run.status);
  run.hidden = run.sizes.slice(1, -1).reduce((a, b) => a + b, 0);
  run.statusAt = (index) => status.subarray(index * run.hidden, (index + 1) * run.hidden);  // value + 1
  run.colours = run.colours.flat(2);  // r, g, b per hidden neuron, layer by layer
  run.slices = GINN.layerSlices(run.sizes);
  run.pRanges = new Map();
  return run;
};

GINN.weightsAt = (run, index) => run.flat.subarray(index * run.params, (index + 1) * run.params);

// Per layer: n_in, n_out and where its W (out, in) and b start in the flat vector (network.layer_slices).
// The data's rectangle in the input plane (core.targets.extent): the long side spans [0, 1].
GINN.extent = function (width, height) {
  const long = Math.max(width, height);
  return [width / long, height / long];
};

GINN.layerSlices = function (sizes) {
  const slices = [];
  let offset = 0;
  for (let l = 0; l + 1 < sizes.length; l++) {
    const nIn = sizes[l], nOut = sizes[l + 1];
    slices.push({nIn, nOut, w: offset, b: offset + nOut * nIn});
    offset += nOut * (nIn + 1);
  }
  return slices;
};

GINN.layerOffsets = function (sizes) {
  const offsets = [];
  let total = 0;
  for (const width of sizes.slice(1, -1)) { offsets.push(total); total += width; }
  return offsets;
};

// The lowest and highest p over the target's pixel centres, in float64 (renderer.prediction_range).
GINN.predictionRange = function (run, index) {
  if (run.pRanges.has(index)) return run.pRanges.get(index);
  const flat = GINN.weightsAt(run, index), slices = run.slices, height = run.target.height;
  const width = run.target.width, leak = run.activation === "relu" ? 0.0 : 0.01;
  const widest = Math.max(...run.sizes);
  let a = new Float64Array(widest), z = new Float64Array(widest);
  let low = Infinity, high = -Infinity;
  const long = Math.max(width, height);  // targets.target_points: proportions kept
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      a[0] = (c + 0.5) / long;
      a[1] = (r + 0.5) / long;
      for (let l = 0; l < slices.length; l++) {
        const {nIn, nOut, w, b} = slices[l];
        for (let k = 0; k < nOut; k++) {
          let sum = 0.0;
          for (let j = 0; j < nIn; j++) sum += a[j] * flat[w + k * nIn + j];
          sum += flat[b + k];
          z[k] = l + 1 < slices.length && sum <= 0 ? leak * sum : sum;
        }
        [a, z] = [z, a];
      }
      const p = 0.5 * (1.0 + Math.tanh(0.5 * a[0]));
      if (p < low) low = p;
      if (p > high) high = p;
    }
  }
  const range = [low, high];
  run.pRanges.set(index, range);
  return range;
};

// WeightLayout.pack: zero-padded 4x4 tiles (a texel per tile row), then the biases 4 per texel.
GINN.packWeights = function (flat, program, out) {
  out.fill(0);
  const layout = program.layout;
  GINN.layerSlices(program.sizes).forEach((layer, i) => {
    const in4 = layout.in4[i];
    for (let k = 0; k < layer.nOut; k++) {
      for (let j = 0; j < layer.nIn; j++) {
        const texel = layout.w_offset[i] + 4 * ((k >> 2) * in4 + (j >> 2)) + (k & 3);
        out[4 * texel + (j & 3)] = flat[layer.w + k * layer.nIn + j];
      }
    }
    for (let k = 0; k < layer.nOut; k++) out[4 * layout.b_offset[i] + k] = flat[layer.b + k];
  });
  return out;
};
