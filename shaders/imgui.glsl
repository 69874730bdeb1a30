// Dear ImGui's draw lists: textured, vertex-coloured triangles in display coordinates.

#ifdef VERTEX_SHADER
uniform vec4 u_display;  // x, y of the top left corner and width, height of the display

in vec2 in_position;
in vec2 in_uv;
in vec4 in_colour;

out vec2 uv;
out vec4 colour;

void main() {
    uv = in_uv;
    colour = in_colour;
    vec2 ndc = (in_position - u_display.xy) / u_display.zw * 2.0 - 1.0;
    gl_Position = vec4(ndc.x, -ndc.y, 0.0, 1.0);  // ImGui's y grows downwards
}
#endif

#ifdef FRAGMENT_SHADER
uniform sampler2D u_texture;

in vec2 uv;
in vec4 colour;

out vec4 frag_colour;

void main() {
    frag_colour = colour * texture(u_texture, uv);
}
#endif
