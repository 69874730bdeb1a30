// The network view in WebGL2: network.glsl's own stages (built by webpage.py with the desktop
// renderer's #defines), fed as ginn_gl/render/renderer.py feeds them.
GINN.COVER_VIEWPORT = new Float32Array([-1, -1, 3, -1, -1, 3]);  // one triangle over the viewport
GINN.TEXTURE_UNITS = {u_weights: 0, u_target: 2};  // the desktop's units

GINN.GLView = class {
  constructor(canvas, programs, constants) {
    // No multisampling: the shader draws its lines anti-aliased itself, as on the desktop.
    const gl = canvas.getContext("webgl2", {antialias: false, alpha: false, depth: false, stencil: false,
      premultipliedAlpha: false});
    if (!gl) throw new GINN.NoWebGL2();
    this.gl = gl;
    this.constants = constants;
    this.programs = programs.map((source) => ({source, compiled: null}));
    this.cover = gl.createBuffer();
    gl.bindBuffer(gl.ARRAY_BUFFER, this.cover);
    gl.bufferData(gl.ARRAY_BUFFER, GINN.COVER_VIEWPORT, gl.STATIC_DRAW);
    this.cells = new Map();  // run -> its weights, neurons and target on the GPU
    this.lastUniforms = null;  // the names set at the last draw: tests compare them with the shader's
  }

  compile(index) {
    const entry = this.programs[index];
    if (entry.compiled) return entry.compiled;
    const gl = this.gl, source = entry.source, program = gl.createProgram();
    for (const [type, text] of [[gl.VERTEX_SHADER, source.vertex], [gl.FRAGMENT_SHADER, source.fragment]]) {
      const shader = gl.createShader(type);
      gl.shaderSource(shader, text);
      gl.compileShader(shader);
      gl.attachShader(program, shader);
    }
    gl.bindAttribLocation(program, 0, "in_position");
    gl.linkProgram(program);
    if (!gl.getProgramParameter(program, gl.LINK_STATUS)) {
      const logs = gl.getAttachedShaders(program).map((s) => gl.getShaderInfoLog(s)).join(" ");
      throw new Error("network.glsl did not build in this browser: " + (logs.trim() || gl.getProgramInfoLog(program)));
    }
    // The uniforms the shader reads (not its blocks' members): each must be set at every draw.
    const count = gl.getProgramParameter(program, gl.ACTIVE_UNIFORMS);
    const indices = Array.from({length: count}, (_, i) => i);
    const blocks = gl.getActiveUniforms(program, indices, gl.UNIFORM_BLOCK_INDEX);
    const uniforms = indices.filter((i) => blocks[i] === -1).map((i) => {
      const info = gl.getActiveUniform(program, i);
      return {name: info.name, type: info.type, location: gl.getUniformLocation(program, info.name)};
    });
    gl.uniformBlockBinding(program, gl.getUniformBlockIndex(program, "Neurons"), 1);
    if (source.weights === "ubo") gl.uniformBlockBinding(program, gl.getUniformBlockIndex(program, "Weights"), 0);
    const vao = gl.createVertexArray();
    gl.bindVertexArray(vao);
    gl.bindBuffer(gl.ARRAY_BUFFER, this.cover);
    gl.enableVertexAttribArray(0);
    gl.vertexAttribPointer(0, 2, gl.FLOAT, false, 0, 0);
    gl.bindVertexArray(null);
    entry.compiled = {program, uniforms, vao, source};
    return entry.compiled;
  }

  cell(run) {
    if (this.cells.has(run)) return this.cells.get(run);
    const gl = this.gl, source = this.programs[run.program].source;
    const cell = {weightsKey: null, neuronsKey: null, source};
    if (source.weights === "ubo") {
      cell.packed = new Float32Array(4 * source.texels);
      cell.weights = gl.createBuffer();
      gl.bindBuffer(gl.UNIFORM_BUFFER, cell.weights);
      gl.bufferData(gl.UNIFORM_BUFFER, cell.packed.byteLength, gl.DYNAMIC_DRAW);
    } else {  // an RGBA32F texture, WEIGHTS_ROW texels a row
      const rows = Math.ceil(source.texels / source.weights_row);
      cell.packed = new Float32Array(4 * rows * source.weights_row);
      cell.weights = this.texture(gl.RGBA32F, source.weights_row, rows, gl.RGBA, gl.FLOAT, null);
    }
    cell.neurons = gl.createBuffer();
    gl.bindBuffer(gl.UNIFORM_BUFFER, cell.neurons);
    gl.bufferData(gl.UNIFORM_BUFFER, 16 * run.hidden, gl.DYNAMIC_DRAW);
    gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
    cell.target = this.texture(gl.R8, run.target.width, run.target.height, gl.RED, gl.UNSIGNED_BYTE,
      run.targetPixels);
    this.cells.set(run, cell);
    return cell;
  }

  texture(format, width, height, layout, type, data) {
    const gl = this.gl, texture = gl.createTexture();
    gl.bindTexture(gl.TEXTURE_2D, texture);
    gl.texImage2D(gl.TEXTURE_2D, 0, format, width, height, 0, layout, type, data);
    for (const name of [gl.TEXTURE_MIN_FILTER, gl.TEXTURE_MAG_FILTER]) gl.texParameteri(gl.TEXTURE_2D, name, gl.NEAREST);
    for (const name of [gl.TEXTURE_WRAP_S, gl.TEXTURE_WRAP_T]) gl.texParameteri(gl.TEXTURE_2D, name, gl.CLAMP_TO_EDGE);
    return texture;
  }

  setWeights(run, cell, index) {
    if (cell.weightsKey === index) return;  // one upload per snapshot change
    const gl = this.gl, source = cell.source;
    GINN.packWeights(GINN.weightsAt(run, index), source, cell.packed);
    if (source.weights === "ubo") {
      gl.bindBuffer(gl.UNIFORM_BUFFER, cell.weights);
      gl.bufferSubData(gl.UNIFORM_BUFFER, 0, cell.packed);
    } else {
      gl.bindTexture(gl.TEXTURE_2D, cell.weights);
      gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, source.weights_row, cell.packed.length / 4 / source.weights_row,
        gl.RGBA, gl.FLOAT, cell.packed);
    }
    cell.weightsKey = index;
  }

  // Per hidden neuron: its colour, and a = 0 off, 1 on, 2 highlighted (renderer._set_neurons).
  setNeurons(run, cell, view) {
    const state = new Float32Array(4 * run.hidden);
    for (let i = 0; i < run.hidden; i++) {
      state.set(run.colours.slice(3 * i, 3 * i + 3), 4 * i);
      state[4 * i + 3] = view.solo !== null ? Number(i === view.solo) : Number(view.shown[i]);
    }
    if (view.highlighted !== null && view.highlighted < run.hidden) state[4 * view.highlighted + 3] = 2;
    const gl = this.gl;
    gl.bindBuffer(gl.UNIFORM_BUFFER, cell.neurons);
    gl.bufferSubData(gl.UNIFORM_BUFFER, 0, state);
  }

  // renderer.uniforms(): the same values for the same view.
  uniforms(run, index, view, viewport, scale) {
    const c = this.constants, source = this.programs[run.program].source;
    const values = {
      u_target: GINN.TEXTURE_UNITS.u_target,
      u_domain: view.domain,
      u_extent: GINN.extent(run.target.width, run.target.height),
      u_viewport: viewport,
      u_view: GINN.DATA.choices.view.indexOf(view.view),
      u_line_width: view.lineWidth * scale,
      u_highlight_width: Math.max(3.5, 2.5 * view.lineWidth) * scale,  // ViewSettings.highlight_width
      u_output_width: view.outputBoundary ? c.output_width * scale : 0.0,
      u_output_halo: c.output_halo * scale,
      u_p_range: view.contrast === "stretch" ? GINN.predictionRange(run, index) : [0.0, 1.0],
      u_gradient_shade: view.shading === "gradient",
      u_solo: view.solo === null ? -1 : view.solo,
      u_probe: -1,
    };
    if (source.weights !== "ubo") values.u_weights = GINN.TEXTURE_UNITS.u_weights;
    return values;
  }

  setUniforms(compiled, values) {
    const gl = this.gl;
    for (const {name, type, location} of compiled.uniforms) {
      if (!(name in values)) throw new Error(`network.glsl uniform left unset: ${name}`);
      const value = values[name];
      if (type === gl.FLOAT_VEC4) gl.uniform4fv(location, value);
      else if (type === gl.FLOAT_VEC2) gl.uniform2fv(location, value);
      else if (type === gl.FLOAT) gl.uniform1f(location, value);
      else gl.uniform1i(location, Number(value));  // int, bool, sampler2D
    }
    this.lastUniforms = {active: compiled.uniforms.map((u) => u.name), set: Object.keys(values)};
  }

  // Draw every cell: {run, index, view, viewport: [x, y (from the bottom), w, h]}; `scale` is device
  // pixels per CSS pixel, so lines keep their width on a dense screen.
  draw(cells, width, height, scale) {
    const gl = this.gl;
    gl.viewport(0, 0, width, height);
    gl.clearColor(0, 0, 0, 1);
    gl.clear(gl.COLOR_BUFFER_BIT);
    gl.disable(gl.BLEND);
    for (const {run, index, view, viewport} of cells) {
      const compiled = this.compile(run.program), cell = this.cell(run);
      gl.useProgram(compiled.program);
      this.setWeights(run, cell, index);
      this.setNeurons(run, cell, view);
      this.setUniforms(compiled, this.uniforms(run, index, view, viewport, scale));
      if (cell.source.weights === "ubo") gl.bindBufferBase(gl.UNIFORM_BUFFER, 0, cell.weights);
      else {
        gl.activeTexture(gl.TEXTURE0 + GINN.TEXTURE_UNITS.u_weights);
        gl.bindTexture(gl.TEXTURE_2D, cell.weights);
      }
      gl.bindBufferBase(gl.UNIFORM_BUFFER, 1, cell.neurons);
      gl.activeTexture(gl.TEXTURE0 + GINN.TEXTURE_UNITS.u_target);
      gl.bindTexture(gl.TEXTURE_2D, cell.target);
      gl.viewport(...viewport);
      gl.bindVertexArray(compiled.vao);
      gl.drawArrays(gl.TRIANGLES, 0, 3);
    }
    gl.bindVertexArray(null);
  }
};

GINN.NoWebGL2 = class extends Error {};
