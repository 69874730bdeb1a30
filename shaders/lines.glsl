// Lines as geometry: each segment an instanced quad, shaded by the pixel's distance to the segment
// with network.glsl's coverage rule, so a line looks as the per-pixel shader draws it (see
// ginn_gl/render/lines.py). Premultiplied colour, blended "over" in the order the segments come.

#ifdef VERTEX_SHADER
in vec4 in_segment;  // x0, y0, x1, y1 in view pixels (x right, y down from the view's top left)
in vec4 in_colour;   // RGB and opacity
in float in_width;   // pixels
uniform vec4 u_viewport;  // the view's rectangle in framebuffer pixels: x, y (bottom left), w, h

out vec4 v_segment;
out vec4 v_colour;
out float v_width;

void main() {
    vec2 a = in_segment.xy;
    vec2 b = in_segment.zw;
    float len = length(b - a);
    vec2 u = len > 0.0 ? (b - a) / len : vec2(1.0, 0.0);
    vec2 n = vec2(-u.y, u.x);
    float reach = 0.5 * max(in_width, 1.0) + 1.0;  // the line's half width and a pixel for its soft edge
    vec2 corner = ((gl_VertexID & 1) == 0 ? a - u * reach : b + u * reach) + ((gl_VertexID & 2) == 0 ? -n : n) * reach;
    gl_Position = vec4(corner.x / u_viewport.z * 2.0 - 1.0, 1.0 - corner.y / u_viewport.w * 2.0, 0.0, 1.0);
    v_segment = in_segment;
    v_colour = in_colour;
    v_width = in_width;
}
#endif

#ifdef FRAGMENT_SHADER
uniform vec4 u_viewport;
in vec4 v_segment;
in vec4 v_colour;
in float v_width;
out vec4 frag_colour;

void main() {
    vec2 p = vec2(gl_FragCoord.x - u_viewport.x, u_viewport.y + u_viewport.w - gl_FragCoord.y);
    vec2 a = v_segment.xy;
    vec2 ab = v_segment.zw - a;
    float t = clamp(dot(p - a, ab) / max(dot(ab, ab), 1e-12), 0.0, 1.0);
    float d = length(p - (a + t * ab));
    // network.glsl's coverage4: a line under a pixel wide is drawn a pixel wide at its share of opacity
    float drawn = max(v_width, 1.0);
    float alpha = clamp(0.5 * drawn - d + 0.5, 0.0, 1.0) * (v_width / drawn) * v_colour.a;
    frag_colour = vec4(v_colour.rgb * alpha, alpha);
}
#endif
