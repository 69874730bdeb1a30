// Copies a texture to the same-sized rectangle of the framebuffer, texel for pixel.

#ifdef VERTEX_SHADER
in vec2 in_position;  // a triangle that covers the viewport

void main() {
    gl_Position = vec4(in_position, 0.0, 1.0);
}
#endif

#ifdef FRAGMENT_SHADER
uniform sampler2D u_image;
uniform ivec2 u_origin;  // the viewport's bottom left corner in framebuffer pixels

out vec4 frag_colour;

void main() {
    frag_colour = texelFetch(u_image, ivec2(gl_FragCoord.xy) - u_origin, 0);
}
#endif
