"""`render --out FILE.svg`: the vector figure's polygons are the exact regions, its paths the lines the
options choose; drawn by a real headless Chromium, it looks like the PNG `render` draws."""

import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image

from ginn_gl.core.palette import neuron_colours
from ginn_gl.core.partition import partition
from ginn_gl.core.runfile import load_run
from ginn_gl.core.view import OUTPUT_HALO, OUTPUT_WIDTH
from tests.conftest import one_line_error, train_rings
from tests.test_webpage import browser  # noqa: F401 - the headless Chromium fixture

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def run_file(tmp_path_factory):
    return train_rings(tmp_path_factory.mktemp("vector"), 2000, 3)


def figure(cli, run_file, out, *options):
    result = cli("render", run_file, "--out", out, *options)
    assert result.returncode == 0, result.stderr
    return ET.parse(out).getroot()


def paths(root) -> dict[str, ET.Element]:
    return {p.get("id"): p for p in root.iter(f"{SVG}path")}


def test_the_regions_view_is_a_polygon_per_exact_region(cli, run_file, tmp_path):
    run = load_run(run_file)
    for index in (0, len(run) // 2, len(run) - 1):
        root = figure(cli, run_file, tmp_path / f"regions{index}.svg", "--view", "regions", "--snapshot", str(index))
        polygons = list(root.iter(f"{SVG}polygon"))
        assert len(polygons) == run.regions[index] > 0, "the helper's exact count"
        assert not list(root.iter(f"{SVG}image")), "no raster at all"
        part = partition(run.weights[index], run.layers, run.activation)
        want = sorted("#" + "".join(f"{v:02x}" for v in colour) for colour in part.colours())
        assert sorted(p.get("fill") for p in polygons) == want
        area = 0.0
        for polygon in polygons:
            xy = np.array([[float(v) for v in pair.split(",")] for pair in polygon.get("points").split()])
            area += 0.5 * abs(np.dot(xy[:, 0], np.roll(xy[:, 1], -1)) - np.dot(xy[:, 1], np.roll(xy[:, 0], -1)))
        assert abs(area - 800 * 800) < 1.0, "the polygons tile the figure"
    zoomed = figure(cli, run_file, tmp_path / "out.svg", "--view", "regions", "--domain", "-0.5,-0.5,1.5,1.5")
    assert "outside" in paths(zoomed), "beyond [0,1]^2 dimmed, as the shader dims it"


def test_lines_are_paths_named_by_neuron_in_their_colours(cli, run_file, tmp_path):
    run = load_run(run_file)
    # The picture's square stretched to 300x200: the neurons whose lines cross it are its switching ones.
    root = figure(cli, run_file, tmp_path / "lines.svg", "--size", "300x200", "--line-width", "2.5",
                  "--domain", "0,0,1,1")
    assert root.get("viewBox") == "0 0 300 200" and len(list(root.iter(f"{SVG}image"))) == 1
    lines = paths(root)
    switching = [(layer, i) for layer in (1, 2, 3) for i in range(16) if run.status[-1, (layer - 1) * 16 + i] == 2]
    assert set(lines) == {f"n{layer}-{i}" for layer, i in switching} | {"output", "output-halo"}
    colours = neuron_colours(run.layers)
    for layer, i in switching:
        path = lines[f"n{layer}-{i}"]
        assert path.get("stroke") == "#" + "".join(f"{round(float(c) * 255):02x}" for c in colours[layer - 1][i])
        assert path.get("stroke-width") == "2.5"
    assert lines["output"].get("stroke") == "#ffffff" and float(lines["output"].get("stroke-width")) == OUTPUT_WIDTH
    assert float(lines["output-halo"].get("stroke-width")) == OUTPUT_HALO
    order = [p.get("id") for p in root.iter(f"{SVG}path")]
    assert order.index("output-halo") + 1 == order.index("output") == len(order) - 1, "p = 0.5 on top"
    some = f"n{switching[0][0]}-{switching[0][1]}"
    highlighted = figure(cli, run_file, tmp_path / "h.svg", "--highlight", some.replace("n", "").replace("-", ":"))
    assert [p.get("id") for p in highlighted.iter(f"{SVG}path")][-1] == some, "the highlighted line last"
    assert float(paths(highlighted)[some].get("stroke-width")) > 1.5
    layer_one = figure(cli, run_file, tmp_path / "one.svg", "--neurons", "1:*", "--no-output-boundary")
    assert all(name.startswith("n1-") for name in paths(layer_one))
    solo = figure(cli, run_file, tmp_path / "solo.svg", "--solo", some.replace("n", "").replace("-", ":"),
                  "--view", "regions")
    assert set(paths(solo)) == {some, "output", "output-halo", "solo-side"}


def test_bad_vector_requests_get_one_line(cli, run_file, tmp_path):
    one_line_error(cli("render", run_file, run_file, "--out", tmp_path / "two.svg"), "SVG shows one run")
    one_line_error(cli("render", run_file, "--out", tmp_path / "x.pdf"), ".png or .svg")
    (tmp_path / "taken.svg").write_text("mine")
    one_line_error(cli("render", run_file, "--out", tmp_path / "taken.svg"), "--overwrite")
    assert (tmp_path / "taken.svg").read_text() == "mine"


@pytest.mark.parametrize("view", ["regions", "prediction", "error"])
def test_chromium_draws_the_figure_as_render_draws_the_png(cli, run_file, tmp_path, browser, view):  # noqa: F811
    svg, png = tmp_path / f"{view}.svg", tmp_path / f"{view}.png"
    for out in (svg, png):
        assert cli("render", run_file, "--out", out, "--view", view, "--size", "400").returncode == 0
    browser.get(svg.as_uri())
    shot = tmp_path / "shot.png"
    browser.save_screenshot(str(shot))
    drawn = np.asarray(Image.open(shot).convert("RGB"))[:400, :400].astype(int)
    want = np.asarray(Image.open(png).convert("RGB")).astype(int)
    differ = np.abs(drawn - want).max(axis=-1)
    assert (differ <= 2).mean() > 0.85 and (differ <= 32).mean() > 0.96, ((differ <= 2).mean(), (differ <= 32).mean())


def test_the_regions_figure_stays_sharp_at_any_zoom(cli, run_file, tmp_path, browser):  # noqa: F811
    """Zoomed 10x, region borders stay a pixel wide: the share of pixels that are no region's colour falls
    about tenfold (an upscaled picture's borders would grow tenfold too)."""
    svg = tmp_path / "flat.svg"
    root = figure(cli, run_file, svg, "--view", "regions", "--size", "400", "--neurons", "none",
                  "--no-output-boundary")
    fills = {tuple(int(p.get("fill")[i:i + 2], 16) for i in (1, 3, 5)) for p in root.iter(f"{SVG}polygon")}
    shot = tmp_path / "shot.png"

    def blended(width: int) -> float:
        browser.get(svg.as_uri())
        browser.execute_script(f"document.documentElement.setAttribute('width', {width});"
                               f"document.documentElement.setAttribute('height', {width})")
        browser.save_screenshot(str(shot))
        pixels = np.asarray(Image.open(shot).convert("RGB"))[:400, :400].reshape(-1, 3)
        return 1.0 - float(np.mean([tuple(p) in fills for p in pixels.tolist()]))

    plain, zoomed = blended(400), blended(4000)
    assert 0.02 < plain and zoomed < 0.3 * plain, (plain, zoomed)


def test_the_figure_shows_the_target_in_force_in_the_pictures_proportions(tmp_path, cli):
    import base64
    import io

    first, second = tmp_path / "first.png", tmp_path / "second.png"  # 60 x 40, and its negative
    pixels = np.kron(np.eye(2, 3, dtype=np.uint8) * 255, np.ones((20, 20), np.uint8))
    Image.fromarray(pixels).save(first)
    Image.fromarray(255 - pixels).save(second)
    run_path = tmp_path / "switched.npz"
    result = cli("train", "--image", first, "--resolution", "30", "--steps", "60", "--switch", f"30:{second}",
                 "--out", run_path)
    assert result.returncode == 0, result.stderr
    png, svg = tmp_path / "target.png", tmp_path / "target.svg"
    for out in (png, svg):  # the last step: the second picture is in force
        result = cli("render", run_path, "--out", out, "--view", "target", "--neurons", "none",
                     "--no-output-boundary")
        assert result.returncode == 0, result.stderr
    href = ET.parse(svg).getroot().find(f"{SVG}g[@id='background']/{SVG}image").get("href")
    background = np.asarray(Image.open(io.BytesIO(base64.b64decode(href.split(",", 1)[1]))).convert("RGB"))
    assert background.shape == (533, 800, 3), "the picture's proportions"
    assert np.array_equal(background, np.asarray(Image.open(png).convert("RGB"))), "the version in force, framed whole"
