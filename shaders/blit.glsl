// Copies a texture into a rectangle of the framebuffer: texel for pixel when the sizes agree,
// else scaled with the texture's filter (the progressive view's reduced drawing, upscaled).

#ifdef VERTEX_SHADER
in vec2 in_position;  // a triangle that covers the viewport

void main() {
    gl_Position = vec4(in_position, 0.0, 1.0);
}
#endif

#ifdef FRAGMENT_SHADER
uniform sampler2D u_image;
uniform ivec2 u_origin;  // the rectangle's bottom left corner in framebuffer pixels
uniform ivec2 u_size;    // the rectangle's size in framebuffer pixels

out vec4 frag_colour;

void main() {
    vec2 pos = gl_FragCoord.xy - vec2(u_origin);
    if (u_size == textureSize(u_image, 0)) {
        frag_colour = texelFetch(u_image, ivec2(pos), 0);
    } else {
        frag_colour = texture(u_image, pos / vec2(u_size));
    }
}
#endif
