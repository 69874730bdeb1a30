// The whole network, evaluated per pixel: prediction, and each hidden neuron's zero-crossing as a
// line of constant width. Compiled with (see ginn_gl/render/renderer.py):
//   N_HIDDEN        hidden neurons in all
//   MAX_W4          widest layer, in vec4s
//   N_LAYERS        weight layers (hidden layers + 1)
//   LAYER_IN4_LIST, LAYER_OUT_LIST, W_OFFSET_LIST, B_OFFSET_LIST, FIRST_NEURON_LIST: per layer,
//                   its input width in vec4s, its outputs, the texels of its first weight and
//                   first bias, the index of its first neuron. A layer's weight matrix is
//                   zero-padded to 4x4 tiles, stored tile by tile (row-major over tiles), a texel
//                   per tile row; then its biases, 4 per texel.
//   UNROLL_LAYERS   defined for a small network: shade() calls dense_layer() once per layer with
//                   constant arguments, so every loop has constant bounds and unrolls (activations
//                   stay in registers: 2x faster on llvmpipe); without it, a loop over the layers
//                   (unrolling a large network would take minutes to compile).
//   SLOPE           the activation's slope for z <= 0 (0.0 for ReLU, 0.01 for leaky ReLU)
//   WEIGHTS_ROW     texels per row of the weight texture
//   COMPUTE_GROUP   the compute stage's work group is COMPUTE_GROUP x COMPUTE_GROUP pixels
//   VIEW_PREDICTION, VIEW_TARGET, VIEW_ERROR, VIEW_REGIONS: the values of u_view (core.view.BACKGROUNDS)
//   WEIGHTS_UBO     defined (to the texel count) when the weights fit a uniform block, which is
//                   cheaper to read than a texture; larger networks use the texture
// Stages: VERTEX_SHADER + FRAGMENT_SHADER shade the view directly; COMPUTE_SHADER (GLSL 4.30)
// shades the same pixels into an RGBA32F image that blit.glsl then copies: a GPU built for compute
// (an H100 has a few graphics-capable SMs of its 132) runs it on every SM.

#ifdef VERTEX_SHADER
in vec2 in_position;  // a triangle that covers the viewport

void main() {
    gl_Position = vec4(in_position, 0.0, 1.0);
}
#endif

#if defined(FRAGMENT_SHADER) || defined(COMPUTE_SHADER)
#ifdef WEIGHTS_UBO
layout(std140) uniform Weights {
    vec4 weights[WEIGHTS_UBO];  // packed weights and biases
};
#else
uniform sampler2D u_weights;  // RGBA32F: packed weights and biases
#endif
layout(std140) uniform Neurons {
    vec4 neurons[N_HIDDEN];  // per hidden neuron: colour, a = 0 off, 1 on, 2 highlighted
};
uniform sampler2D u_target;   // R8: the run's target, row 0 = top of the picture
uniform vec4 u_domain;        // the input-plane rectangle shown: x0, y0 (top left), x1, y1
uniform vec2 u_extent;        // the data's rectangle: [0, W/L] x [0, H/L] for an H x W target of long side L
uniform vec4 u_viewport;      // the view's rectangle in framebuffer pixels: x, y (bottom left), w, h
uniform int u_view;           // VIEW_PREDICTION, VIEW_TARGET, VIEW_ERROR or VIEW_REGIONS
uniform bool u_gradient_shade;    // regions view: each region darker where the logit is flatter
uniform int u_solo;               // a hidden neuron whose active side is tinted (-1: none)
uniform int u_probe;              // a hidden neuron whose activation replaces the background (-1: none)
uniform float u_line_width;       // pixels
uniform float u_highlight_width;  // pixels
uniform float u_output_width;     // pixels; 0 hides the output's p = 0.5 boundary
uniform float u_output_halo;      // pixels: the dark halo under that line
uniform vec2 u_p_range;           // the prediction view shows p from u_p_range.x (black) to .y (white)

#ifdef FRAGMENT_SHADER
out vec4 frag_color;
#else
layout(local_size_x = COMPUTE_GROUP, local_size_y = COMPUTE_GROUP) in;
layout(rgba32f) uniform writeonly image2D u_image;  // the view, u_viewport.zw texels
#endif

const int LAYER_IN4[N_LAYERS] = int[N_LAYERS](LAYER_IN4_LIST);
const int LAYER_OUT[N_LAYERS] = int[N_LAYERS](LAYER_OUT_LIST);
const int W_OFFSET[N_LAYERS] = int[N_LAYERS](W_OFFSET_LIST);
const int B_OFFSET[N_LAYERS] = int[N_LAYERS](B_OFFSET_LIST);
const int FIRST_NEURON[N_LAYERS] = int[N_LAYERS](FIRST_NEURON_LIST);

const vec3 FALSE_WHITE = vec3(1.0, 0.42, 0.16);  // predicted white where the target is black
const vec3 FALSE_BLACK = vec3(0.16, 0.62, 1.0);  // predicted black where the target is white
const vec3 OUTSIDE = vec3(0.09, 0.09, 0.12);     // beyond the data domain [0,1]^2

vec4 weight_texel(int i) {
#ifdef WEIGHTS_UBO
    return weights[i];
#else
    return texelFetch(u_weights, ivec2(i % WEIGHTS_ROW, i / WEIGHTS_ROW), 0);
#endif
}

// Coverage of a pixel by the zero-crossing of z, a line `width` pixels wide, for four neurons at
// once. The network is piecewise linear, so |z| / |grad z| is the exact distance in pixels
// within a linear piece: no fwidth, no 2x2-quad artefacts. A line under a pixel wide (a reduced
// view's, or a thin one) is drawn a pixel wide at its share of the opacity: even, not dashed.
vec4 coverage4(vec4 z, vec4 zx, vec4 zy, vec4 width) {
    vec4 g = sqrt(zx * zx + zy * zy);
    vec4 drawn = max(width, vec4(1.0));
    vec4 a = clamp(0.5 * drawn - abs(z) / max(g, vec4(1e-30)) + 0.5, 0.0, 1.0) * (width / drawn);
    return mix(vec4(0.0), a, greaterThan(g, vec4(0.0)));
}

// A 32-bit integer hash (lowbias32): well-mixed keys make XOR fingerprints of patterns collide rarely.
uint mix32(uint x) {
    x ^= x >> 16;
    x *= 0x7feb352dU;
    x ^= x >> 15;
    x *= 0x846ca68bU;
    x ^= x >> 16;
    return x;
}

// Premultiplied "over": `rgb` at opacity `a` on top of what `acc` holds.
void over(inout vec4 acc, vec3 rgb, float a) {
    acc = vec4(rgb * a, a) + acc * (1.0 - a);
}

float sigmoid(float z) {
    return z >= 0.0 ? 1.0 / (1.0 + exp(-z)) : exp(z) / (1.0 + exp(z));
}

// Forward mode: every activation carries its derivative along pixel x and pixel y.
vec4 val[MAX_W4];
vec4 gx[MAX_W4];
vec4 gy[MAX_W4];
vec4 lines = vec4(0.0);      // premultiplied colour of the lines drawn so far
vec4 highlight = vec4(0.0);  // the highlighted neuron's line, drawn last
uint pattern = 0u;           // the activation pattern's fingerprint: XOR of the active neurons' keys
vec4 solo = vec4(0.0);       // the solo neuron's colour, and in .a whether it is active here
vec4 probe = vec4(0.0);      // the probed neuron's colour, and in .a its signed distance in pixels
float logit = 0.0;
vec2 logit_grad = vec2(0.0);

void dense_layer(int in4, int outputs, int w_offset, int b_offset, int first_neuron, bool is_output) {
    vec4 nval[MAX_W4];
    vec4 ngx[MAX_W4];
    vec4 ngy[MAX_W4];
    int out4 = (outputs + 3) / 4;
    for (int k4 = 0; k4 < out4; ++k4) {
        // Four neurons at once. A tile's texels are its rows, so as mat4 columns: a * w = W a.
        vec4 z = weight_texel(b_offset + k4);
        vec4 zx = vec4(0.0);
        vec4 zy = vec4(0.0);
        for (int j4 = 0; j4 < in4; ++j4) {
            int tile = w_offset + 4 * (k4 * in4 + j4);
            mat4 w = mat4(weight_texel(tile), weight_texel(tile + 1), weight_texel(tile + 2),
                          weight_texel(tile + 3));
            z += val[j4] * w;
            zx += gx[j4] * w;
            zy += gy[j4] * w;
        }
        if (is_output) {
            logit = z.x;
            logit_grad = vec2(zx.x, zy.x);
            return;
        }
        vec4 state = vec4(0.0);
        for (int c = 0; c < 4; ++c) {
            if (4 * k4 + c < outputs) state[c] = neurons[first_neuron + 4 * k4 + c].a;
        }
        vec4 width = mix(vec4(u_line_width), vec4(u_highlight_width), greaterThan(state, vec4(1.5)));
        vec4 alpha = coverage4(z, zx, zy, width) * vec4(greaterThan(state, vec4(0.5)));
        for (int c = 0; c < 4; ++c) {
            if (4 * k4 + c >= outputs) break;
            int index = first_neuron + 4 * k4 + c;
            vec3 colour = neurons[index].rgb;
            if (state[c] > 1.5) highlight = vec4(colour, alpha[c]);
            else over(lines, colour, alpha[c]);
            if (u_view == VIEW_REGIONS && z[c] > 0.0) pattern ^= mix32(uint(index) * 0x9E3779B9U + 0x632BE5ABU);
            if (index == u_solo) solo = vec4(colour, z[c] > 0.0 ? 1.0 : 0.0);
            if (index == u_probe) probe = vec4(colour, z[c] / max(length(vec2(zx[c], zy[c])), 1e-30));
        }
        vec4 slope = mix(vec4(SLOPE), vec4(1.0), greaterThan(z, vec4(0.0)));
        nval[k4] = slope * z;
        ngx[k4] = slope * zx;
        ngy[k4] = slope * zy;
    }
    for (int i = 0; i < out4; ++i) {
        val[i] = nval[i];
        gx[i] = ngx[i];
        gy[i] = ngy[i];
    }
}

// The view's colour at `frag`: a pixel centre relative to the view's bottom left corner.
vec3 shade(vec2 frag) {
    vec2 uv = vec2(frag.x / u_viewport.z, 1.0 - frag.y / u_viewport.w);  // y grows downwards
    vec2 pos = mix(u_domain.xy, u_domain.zw, uv);
    vec2 per_pixel = (u_domain.zw - u_domain.xy) / u_viewport.zw;
    for (int i = 0; i < MAX_W4; ++i) {
        val[i] = vec4(0.0);
        gx[i] = vec4(0.0);
        gy[i] = vec4(0.0);
    }
    val[0] = vec4(pos, 0.0, 0.0);
    gx[0] = vec4(per_pixel.x, 0.0, 0.0, 0.0);  // d(input) / d(pixel x)
    gy[0] = vec4(0.0, per_pixel.y, 0.0, 0.0);  // d(input) / d(pixel y)

#define LAYER(l) dense_layer(LAYER_IN4[l], LAYER_OUT[l], W_OFFSET[l], B_OFFSET[l], FIRST_NEURON[l], l == N_LAYERS - 1)
#ifdef UNROLL_LAYERS
    LAYER(0);  // a network has at least two layers (one hidden) and at most nine
    LAYER(1);
#if N_LAYERS > 2
    LAYER(2);
#endif
#if N_LAYERS > 3
    LAYER(3);
#endif
#if N_LAYERS > 4
    LAYER(4);
#endif
#if N_LAYERS > 5
    LAYER(5);
#endif
#if N_LAYERS > 6
    LAYER(6);
#endif
#if N_LAYERS > 7
    LAYER(7);
#endif
#if N_LAYERS > 8
    LAYER(8);
#endif
#else
    for (int l = 0; l < N_LAYERS; ++l) LAYER(l);
#endif

    if (u_output_width > 0.0) {  // a white line with a dark halo: visible on white and on black
        vec4 wide = coverage4(vec4(logit), vec4(logit_grad.x), vec4(logit_grad.y),
                              vec4(u_output_halo, u_output_width, 0.0, 0.0));
        over(lines, vec3(0.0), 0.75 * wide.x);
        over(lines, vec3(1.0), wide.y);
    }

    float p = sigmoid(logit);
    bool inside = all(greaterThanEqual(pos, vec2(0.0))) && all(lessThan(pos, u_extent));
    ivec2 size = textureSize(u_target, 0);
    float t = inside ? texelFetch(u_target, ivec2(floor(pos / u_extent * vec2(size))), 0).r : 0.0;
    vec3 background;
    if (u_view == VIEW_TARGET) {
        background = inside ? vec3(t) : OUTSIDE;
    } else if (u_view == VIEW_ERROR) {
        bool wrong = (p > 0.5) != (t > 0.5);
        vec3 miss = t > 0.5 ? FALSE_BLACK : FALSE_WHITE;
        background = wrong ? miss * (0.55 + 0.45 * abs(p - t)) : vec3(mix(0.10, 0.62, t));
        if (!inside) background = OUTSIDE;
    } else if (u_view == VIEW_REGIONS) {  // a flat colour per activation pattern: each linear region one patch
        uint c = mix32(pattern ^ 0x5BD1E995U);
        background = (vec3(48u + (c & 255u) * 200u / 256u, 48u + ((c >> 8) & 255u) * 200u / 256u,
                           48u + ((c >> 16) & 255u) * 200u / 256u)) / 255.0;
        if (u_gradient_shade) {  // the slope of the logit in input units, constant within a region
            float slope = length(logit_grad / per_pixel);
            background *= 0.3 + 0.7 * (1.0 - exp(-slope / 8.0));
        }
        if (!inside) background = mix(background, OUTSIDE, 0.55);
    } else {
        float grey = clamp((p - u_p_range.x) / max(u_p_range.y - u_p_range.x, 1e-6), 0.0, 1.0);
        background = inside ? vec3(grey) : mix(vec3(grey), OUTSIDE, 0.55);
    }
    if (u_probe >= 0) {  // one neuron's activation: its colour on its active side, by distance to its line
        float d = probe.a;
        background = d > 0.0 ? probe.rgb * (0.35 + 0.65 * tanh(d / (0.15 * u_viewport.z)))
                             : vec3(0.16) * (1.0 - 0.5 * tanh(-d / (0.15 * u_viewport.z)));
    }
    if (u_solo >= 0) background = mix(background, solo.rgb, 0.3 * solo.a);  // its active side, tinted
    vec3 colour = lines.rgb + background * (1.0 - lines.a);
    return mix(colour, highlight.rgb, highlight.a);
}

#ifdef FRAGMENT_SHADER
void main() {
    frag_color = vec4(shade(gl_FragCoord.xy - u_viewport.xy), 1.0);
}
#else
uniform ivec4 u_region;  // the part of the view shaded into u_image: x, y within the view, w, h

void main() {
    ivec2 pixel = ivec2(gl_GlobalInvocationID.xy);
    if (pixel.x >= u_region.z || pixel.y >= u_region.w) return;
    imageStore(u_image, pixel, vec4(shade(vec2(pixel + u_region.xy) + 0.5), 1.0));
}
#endif
#endif
