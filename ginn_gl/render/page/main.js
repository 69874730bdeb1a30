// Decode the runs, then start the page.
GINN.start = async function () {
  const data = GINN.DATA;
  if (typeof DecompressionStream === "undefined") {
    $("message").textContent = "This page needs a current browser (DecompressionStream: Chrome 80, Firefox 113, " +
      "Safari 16.4 or newer).";
    $("message").hidden = false;
    return;
  }
  const runs = await Promise.all(data.runs.map((run) => GINN.loadRun(run)));
  window.ginnPage = new GINN.App(data, runs);
};

GINN.start().catch((error) => {
  $("message").textContent = `This page could not start: ${error.message}`;
  $("message").hidden = false;
});
