"""`ginn-gl export RUN --out page.html`: the page in a real headless Chromium (Selenium, WebGL2 on
SwiftShader), its pictures against `ginn-gl render`'s, its controls, its address and its isolation."""

import base64
import io
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ginn_gl.core.runfile import Run, load_run, save_run
from tests.conftest import IN_CI, one_line_error, run_cli

SIZE = 128  # the cells compared with render: small, as SwiftShader shades on the CPU
BROWSER_FLAGS = ("--headless=new", "--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--disable-quic", "--disable-gpu-shader-disk-cache", "--force-device-scale-factor=1")
NO_WEBGL2 = ("const original = HTMLCanvasElement.prototype.getContext; HTMLCanvasElement.prototype.getContext = "
             "function (kind, ...rest) { return kind === 'webgl2' ? null : original.call(this, kind, ...rest); };")


def unavailable(why: str):
    if IN_CI:
        pytest.fail(f"CI must run the web page tests: {why}")
    pytest.skip(why)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """A real headless Chromium with WebGL2 (SwiftShader) and no network, logging every request."""
    try:
        from selenium import webdriver
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        unavailable("selenium is not installed (pip install -e '.[test]')")
    binary = next((shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome")
                   if shutil.which(name)), None)
    driver_path = shutil.which("chromedriver")
    if binary is None or driver_path is None:
        unavailable("no chromium and chromedriver here (Debian: apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in BROWSER_FLAGS + ("--window-size=1400,900",
                                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    try:
        driver = webdriver.Chrome(options=options, service=Service(driver_path))
    except WebDriverException as exc:
        unavailable(f"chromium did not start: {str(exc).strip().splitlines()[0]}")
    yield driver
    driver.quit()


def deep_run(path: Path) -> Path:
    """A 2-64x8-1 network's run file, its snapshots drawn at random as initialisations are (He): too large
    for a WebGL2 uniform block, so the page reads its weights from the texture. Written, not trained: fast."""
    sizes = [2, *[64] * 8, 1]
    rng = np.random.default_rng(5)
    weights = np.stack([np.concatenate([part for n_in, n_out in zip(sizes[:-1], sizes[1:]) for part in (
        rng.normal(0.0, (2.0 / n_in) ** 0.5, n_out * n_in), rng.normal(0.0, 0.3, n_out))]) for _ in range(3)])
    meta = {"layers": sizes, "activation": "relu", "seed": 5, "image": "circle", "resolution": 32, "batch_size": 128,
            "lr": 1e-3, "schedule": "cosine", "steps": 40, "device": "cpu", "torch_version": "none", "created": "now"}
    rows, columns = np.mgrid[0:32, 0:32]
    disc = ((rows - 15.5) ** 2 + (columns - 15.5) ** 2 < 100).astype(np.uint8)
    return save_run(path, Run(meta=meta, steps=np.array([0, 20, 40]), weights=weights.astype(np.float32),
                              snap_loss=np.array([0.7, 0.6, 0.5], np.float32), loss_steps=np.array([20, 40]),
                              loss=np.array([0.65, 0.55], np.float32), target=disc))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two short runs trained together (one schedule of steps) and a deep, wide one (the texture path)."""
    folder = tmp_path_factory.mktemp("webpage")
    result = run_cli("train", "--seeds", "0,1", "--image", "rings", "--resolution", "64", "--steps", "2000",
                     "--lr", "1e-2", "--out", folder / "rings")
    assert result.returncode == 0, result.stderr
    return {"first": folder / "rings-seed0.npz", "second": folder / "rings-seed1.npz",
            "deep": deep_run(folder / "deep.npz")}


@pytest.fixture(scope="module")
def pages(runs, tmp_path_factory):
    folder = tmp_path_factory.mktemp("pages")
    made = {}
    for name, paths in (("single", [runs["first"]]), ("grid", [runs["first"], runs["second"]]),
                        ("deep", [runs["deep"]])):
        made[name] = folder / f"{name}.html"
        result = run_cli("export", *paths, "--out", made[name])
        assert result.returncode == 0, result.stderr
        assert "web page" in result.stdout
    return made


def page_data(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    return json.loads(re.search(r'<script type="application/json" id="ginn-data">(.*?)</script>', text, re.S).group(1))


def open_page(browser, path: Path, hash_text: str = "") -> None:
    browser.get("about:blank")  # a new document each time: a changed hash alone would not reload it
    browser.get(path.as_uri() + hash_text)
    settle(browser)


def follow(browser, hash_text: str) -> None:
    """A link's address given to the open page (as a click on a link to it would): no reload."""
    browser.execute_script("location.hash = arguments[0]", hash_text)
    settle(browser)


def settle(browser) -> None:
    """Until the page has started and handled what happened (its frame loop: two animation frames)."""
    browser.set_script_timeout(30)
    browser.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const wait = () => (window.ginnPage && ginnPage.ready) || document.getElementById('message').textContent
            ? requestAnimationFrame(() => requestAnimationFrame(() => done())) : setTimeout(wait, 20);
        wait();""")


def canvas(browser) -> np.ndarray:
    url = browser.execute_script("return ginnPage.snapshotPNG()")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGB")).astype(int)


def rendered(paths, tmp_path, *args) -> np.ndarray:
    out = tmp_path / f"render-{len(list(tmp_path.iterdir()))}.png"
    result = run_cli("render", *paths, "--out", out, *map(str, args))
    assert result.returncode == 0, result.stderr
    return np.asarray(Image.open(out).convert("RGB")).astype(int)


def assert_same_picture(page: np.ndarray, render: np.ndarray, what: str) -> dict:
    """The same shader on two rasterisers (SwiftShader, llvmpipe) in float32: equal but for rounding where
    a line's edge or a region's border falls through a pixel."""
    assert page.shape == render.shape, what
    difference = np.abs(page - render).max(axis=2)
    measured = {"max": int(difference.max()), "mean": float(difference.mean()),
                "over 2 levels": float((difference > 2).mean())}
    print(what, measured)
    assert measured["mean"] < 0.5 and measured["over 2 levels"] < 0.002, (what, measured)
    return measured


def location_hash(browser) -> str:
    return browser.execute_script("return location.hash")


CASES = [  # (snapshot, the address's settings, render's options): three steps, every view option
    (0, "", []),
    (0.5, "&view=regions&neurons=1:*,2:3&highlight=3:0&line-width=2.5&shading=gradient",
     ["--view", "regions", "--neurons", "1:*,2:3", "--highlight", "3:0", "--line-width", "2.5", "--shading",
      "gradient"]),
    (-1, "&solo=1:2&contrast=stretch&output-boundary=0&domain=-0.25,-0.1,1.2,1.3",
     ["--contrast", "stretch", "--no-output-boundary", "--solo", "1:2", "--domain", "-0.25,-0.1,1.2,1.3"]),
]


def test_the_page_draws_what_render_draws_at_three_steps(browser, runs, pages, tmp_path, gl_context):
    run = load_run(runs["first"])
    for case, (where, settings, options) in enumerate(CASES):
        step = int(run.steps[int(where * (len(run) - 1)) if where != -1 else -1])
        if case == 0:  # opened with the link, then the next links followed in the open page
            open_page(browser, pages["single"], f"#step={step}{settings}&size={SIZE}")
        else:
            follow(browser, f"#step={step}{settings}&size={SIZE}")
        assert browser.execute_script("return document.getElementById('message').textContent") == ""
        page = canvas(browser)
        render = rendered([runs["first"]], tmp_path, "--step", step, "--size", SIZE, *options)
        assert_same_picture(page, render, f"step {step} {settings}")
        assert location_hash(browser) == f"#step={step}{settings}&size={SIZE}", "the address keeps the settings"


def test_a_deep_wide_network_draws_through_the_weight_texture(browser, runs, pages, tmp_path, gl_context):
    program = page_data(pages["deep"])["programs"][0]
    assert program["weights"] == "texture" and "#define WEIGHTS_UBO" not in program["fragment"]
    open_page(browser, pages["deep"], "#step=40&size=48&view=regions")
    assert_same_picture(canvas(browser), rendered([runs["deep"]], tmp_path, "--size", 48, "--view", "regions"),
                        "2-64x8-1 network")


def test_a_wide_picture_is_shown_whole_and_centred_as_render_shows_it(browser, runs, tmp_path, gl_context):
    from ginn_gl.core.view import fit_domain

    wide = load_run(runs["first"])
    wide.target = np.ascontiguousarray(wide.target[16:48])  # 64 x 32: the input plane [0, 1] x [0, 0.5]
    wide.meta.pop("image_sha256", None)
    path = save_run(tmp_path / "wide.npz", Run(meta=wide.meta, steps=wide.steps, weights=wide.weights,
                                                snap_loss=wide.snap_loss, loss_steps=wide.loss_steps,
                                                loss=wide.loss, target=wide.target))
    page = tmp_path / "wide.html"
    assert run_cli("export", path, "--out", page).returncode == 0
    home = list(fit_domain((1.0, 0.5)))
    assert page_data(page)["constants"]["default_domain"] == home == [0.0, -0.25, 1.0, 0.75]
    open_page(browser, page, f"#view=target&size={SIZE}")
    assert "domain=" not in location_hash(browser), "the whole picture is the page's home: its address leaves it out"
    assert_same_picture(canvas(browser), rendered([path], tmp_path, "--size", SIZE, "--view", "target"),
                        "a wide target, letterboxed")


def test_runs_side_by_side_show_their_newest_snapshot_at_or_before_the_step(browser, runs, pages, tmp_path, gl_context):
    run = load_run(runs["first"])
    step = int(run.steps[-40]) + 1  # between two snapshots
    open_page(browser, pages["grid"], f"#step={step}&size={SIZE}")
    assert_same_picture(canvas(browser), rendered([runs["first"], runs["second"]], tmp_path, "--step", step,
                                                  "--size", SIZE, "--no-label"), "a grid of two runs")
    labels = browser.execute_script("return [...document.querySelectorAll('.cell-label')].map(e => e.textContent)")
    assert len(labels) == 2 and all(f"step {int(run.steps[-40]):,}" in label for label in labels), labels


def test_slider_toggle_keys_and_address_change_the_picture(browser, runs, pages, tmp_path, gl_context):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    run = load_run(runs["first"])
    open_page(browser, pages["single"], f"#size={SIZE}")
    assert location_hash(browser) == f"#step={int(run.steps[-1])}&size={SIZE}", "opened at the newest snapshot"
    newest = canvas(browser)
    # The slider: one position per snapshot.
    browser.execute_script("const s = document.getElementById('slider'); s.value = 100; "
                           "s.dispatchEvent(new Event('input'));")
    settle(browser)
    assert location_hash(browser).startswith(f"#step={int(run.steps[100])}&")
    assert np.abs(canvas(browser) - newest).max() > 100
    # A neuron's toggle: a click hides its line; the pointer resting on it draws it thicker.
    toggle = browser.find_element(By.CSS_SELECTOR, "button.neuron[data-neuron='2:5']")
    ActionChains(browser).move_to_element(toggle).click().perform()
    settle(browser)
    spec = "1:*," + ",".join(f"2:{i}" for i in range(16) if i != 5) + ",3:*"
    assert location_hash(browser) == f"#step={int(run.steps[100])}&neurons={spec}&size={SIZE}"
    assert_same_picture(canvas(browser), rendered([runs["first"]], tmp_path, "--step", int(run.steps[100]),
                                                  "--size", SIZE, "--neurons", spec, "--highlight", "2:5"),
                        "a toggle clicked and hovered")
    ActionChains(browser).move_to_element(browser.find_element(By.ID, "title")).perform()
    # Keys: G the regions view, Right one snapshot on, Home the first.
    ActionChains(browser).send_keys("g").send_keys(Keys.ARROW_RIGHT).perform()
    settle(browser)
    assert location_hash(browser) == f"#step={int(run.steps[101])}&view=regions&neurons={spec}&size={SIZE}"
    assert_same_picture(canvas(browser), rendered([runs["first"]], tmp_path, "--step", int(run.steps[101]), "--size",
                                                  SIZE, "--neurons", spec, "--view", "regions"), "after G and Right")
    ActionChains(browser).send_keys(Keys.HOME).perform()
    settle(browser)
    assert location_hash(browser).startswith("#step=0&view=regions")
    # An address typed in: the page follows it.
    follow(browser, f"#step={int(run.steps[-1])}&view=target&neurons=none&output-boundary=0&size={SIZE}")
    target = np.repeat(load_run(runs["first"]).target[:, :, None] * 255, 3, axis=2)
    target = np.kron(target, np.ones((SIZE // 64, SIZE // 64, 1), dtype=int))
    assert np.array_equal(canvas(browser), target), "the target view, pixel for pixel"
    # + plays faster; Space at the end plays from the start, Space again pauses.
    ActionChains(browser).send_keys("+").send_keys(Keys.SPACE).perform()
    settle(browser)
    settle(browser)
    ActionChains(browser).send_keys(Keys.SPACE).perform()
    settle(browser)
    played = browser.execute_script("return [document.getElementById('speed-text').textContent, "
                                     "Number(document.getElementById('slider').value), ginnPage.state.playing]")
    assert played[0] == "play 36 snapshots/s" and 0 < played[1] < len(run) - 1 and not played[2], played
    # ? lists the keys.
    ActionChains(browser).send_keys("?").perform()
    settle(browser)
    keys = browser.execute_script("return document.getElementById('help').hidden ? '' : "
                                  "document.getElementById('help-keys').textContent")
    assert all(word in keys for word in ("Space", "Left", "Right", "Home", "End", "regions view")), keys


def test_embed_shows_the_view_alone_filling_the_page(browser, pages):
    browser.set_window_size(360, 300)  # an iframe's size (SwiftShader takes seconds for a large view)
    try:
        open_page(browser, pages["single"], "#embed=1")
        shown = browser.execute_script("""const r = document.getElementById('view').getBoundingClientRect();
            return [getComputedStyle(document.getElementById('panel')).display, r.width, r.height,
                    innerWidth, innerHeight];""")
    finally:
        browser.get("about:blank")  # else the page redraws itself at the larger size
        browser.set_window_size(1400, 900)
    assert shown[0] == "none"
    assert shown[1] == shown[2] == min(shown[3], shown[4]), shown


def test_the_page_makes_no_network_request_and_names_no_web_address(browser, pages):
    for path in pages.values():
        text = path.read_text(encoding="utf-8")
        assert "http://" not in text and "https://" not in text and "//cdn" not in text
    browser.get_log("performance")  # drop what came before
    open_page(browser, pages["grid"], "#size=32")
    requested = [json.loads(entry["message"])["message"]["params"]["request"]["url"]
                 for entry in browser.get_log("performance")
                 if json.loads(entry["message"])["message"]["method"] == "Network.requestWillBeSent"]
    assert requested and all(url.startswith(pages["grid"].as_uri()) for url in requested), requested
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0
    severe = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert not severe, severe


def test_without_webgl2_the_page_says_so_in_one_line(browser, pages):
    script = browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": NO_WEBGL2})
    try:
        open_page(browser, pages["single"])
        message = browser.execute_script("return document.getElementById('message').textContent")
    finally:
        browser.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": script["identifier"]})
    assert "WebGL2" in message and "\n" not in message, message
    assert browser.execute_script("return document.getElementById('history-text').textContent").startswith("step ")


def test_the_page_and_the_desktop_build_one_shader(browser, runs, pages, gl_context):
    """The page's source is build_source(network.glsl) with the desktop renderer's #defines, apart from the
    version and precision lines; the page sets exactly the uniforms the shader reads, as the desktop does."""
    from ginn_gl.core.resources import shader_dir
    from ginn_gl.render.renderer import NetworkRenderer

    text = (shader_dir() / "network.glsl").read_text(encoding="utf-8")
    for name, run_path in (("single", runs["first"]), ("deep", runs["deep"])):
        run = load_run(run_path)
        program = page_data(pages[name])["programs"][0]
        desktop = NetworkRenderer(gl_context, run.layers, run.activation, path="fragment")
        try:
            for stage, macro in (("fragment", "FRAGMENT_SHADER"), ("vertex", "VERTEX_SHADER")):
                header, body = program[stage].split("\n#line 1\n")
                assert body == text
                lines = header.splitlines()
                assert lines[:4] == ["#version 300 es", "precision highp float;", "precision highp int;",
                                     "precision highp sampler2D;"]
                assert lines[4] == f"#define {macro}"
                defines = dict(line.removeprefix("#define ").split(" ", 1) for line in lines[5:])
                desktop_defines = {key: str(value) for key, value in desktop.defines.items()}
                if program["weights"] == "texture":  # WebGL2 promises smaller uniform blocks than this desktop
                    desktop_defines.pop("WEIGHTS_UBO", None)
                assert defines == desktop_defines
            active = set(desktop.active_uniforms)
        finally:
            desktop.release()
        open_page(browser, pages[name], "#size=64")
        report = browser.execute_script("return ginnPage.gl.lastUniforms")
        assert set(report["active"]) == active, (report, active)
        assert set(report["set"]) == active


def test_export_html_refuses_mixed_sizes_and_an_existing_file(runs, pages, tmp_path):
    one_line_error(run_cli("export", runs["first"], runs["deep"], "--out", tmp_path / "mixed.html"),
                   "different target sizes")
    one_line_error(run_cli("export", runs["first"], "--out", pages["single"]), "--overwrite")


def test_weights_travel_losslessly(runs):
    from ginn_gl.render.webpage import decode_weights, encode_weights

    run = load_run(runs["first"])
    text = encode_weights(run.weights)
    back = decode_weights(text, *run.weights.shape)
    assert back.dtype == np.float32 and np.array_equal(back.view(np.uint32), run.weights.view(np.uint32))
    assert len(text) < 0.7 * run.weights.nbytes * 4 / 3, "smaller than plain base64 of the float32 bytes"


def test_wheel_zooms_about_the_pointer_drag_pans_and_the_loss_plot_seeks(browser, runs, pages, tmp_path, gl_context):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.actions.wheel_input import ScrollOrigin
    from selenium.webdriver.common.by import By

    from ginn_gl.core.view import ViewSettings

    run = load_run(runs["first"])
    open_page(browser, pages["single"], f"#step={int(run.steps[-1])}&size={SIZE}")
    view = browser.find_element(By.ID, "view")
    # One wheel notch up, 30 px right and 20 px below the view's centre: 1.2 times closer about that point.
    ActionChains(browser).scroll_from_origin(ScrollOrigin.from_element(view, 30, 20), 0, -100).perform()
    settle(browser)
    expected = ViewSettings(run.layers)
    expected.zoom_about(((SIZE / 2 + 30) / SIZE, (SIZE / 2 + 20) / SIZE), 1.2)
    domain = [float(v) for v in re.search(r"domain=([^&]+)", location_hash(browser)).group(1).split(",")]
    pixel = (1 - 1 / 1.2) / SIZE  # the pointer lands on a whole pixel; the view may sit half a pixel off
    assert np.allclose(domain, expected.domain, atol=pixel), (domain, expected.domain)
    # A drag 16 px left and 8 px up moves the picture with the pointer.
    ActionChains(browser).move_to_element(view).click_and_hold().move_by_offset(-16, -8).release().perform()
    settle(browser)
    expected.domain = tuple(domain)
    span = expected.domain[2] - expected.domain[0]
    expected.pan(16 / SIZE * span, 8 / SIZE * span)
    text = re.search(r"domain=([^&]+)", location_hash(browser)).group(1)
    assert np.allclose([float(v) for v in text.split(",")], expected.domain, atol=1e-6), (text, expected.domain)
    assert_same_picture(canvas(browser), rendered([runs["first"]], tmp_path, "--size", SIZE, "--domain", text),
                        "zoomed and panned")
    # A click in the middle of the loss plot's step axis shows the snapshot nearest its middle step.
    plot = browser.find_element(By.ID, "loss")
    width = plot.size["width"]
    ActionChains(browser).move_to_element_with_offset(plot, 40 + (width - 58) / 2 - width / 2, 0).click().perform()
    settle(browser)
    middle = run.steps[np.abs(run.steps - run.steps[-1] / 2).argmin()]
    shown = int(re.match(r"#step=(\d+)", location_hash(browser)).group(1))
    assert abs(shown - middle) <= 0.02 * run.steps[-1], (shown, middle)
