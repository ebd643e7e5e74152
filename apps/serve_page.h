// apps/serve_page.h — the one page `nabla serve` sends (apps/serve.h): a drop zone and file picker, the task, the
// input and the result side by side, the time taken and a download link. Plain HTML, CSS and JavaScript, no
// external resources (it works offline). `/?selftest=mask` (or =upscale) uploads the server's sample photo through
// the same code path as a dropped file and writes "done: WxH TASK in N ms" into #status once the result image has
// loaded: what the browser test (tests/apps/serve_browser.sh) waits for.
#pragma once

namespace nabla::apps {

inline constexpr const char* kServePage = R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Nabla: try the models</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 24px; color: #222; background: #fafafa; }
  h1 { font-size: 22px; margin: 0 0 12px; }
  #drop { border: 2px dashed #888; border-radius: 8px; padding: 28px; text-align: center; background: #fff; }
  #drop.over { border-color: #1f77b4; background: #eef5fb; }
  .row { display: flex; gap: 16px; margin-top: 16px; flex-wrap: wrap; }
  figure { margin: 0; background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 8px; }
  figure img { max-width: 560px; max-height: 560px; display: block; }
  figcaption { font-size: 13px; color: #555; margin-top: 6px; }
  #status { margin-top: 12px; min-height: 1.4em; }
  .error { color: #b00020; }
</style>
</head>
<body>
<h1>Nabla: try the models on your own photos</h1>
<div id="drop">
  Drop an image here, or <input type="file" id="file" accept="image/png,image/jpeg,image/bmp">
  &nbsp; Task: <select id="task">
    <option value="mask">salient-object mask (U2NETP)</option>
    <option value="upscale">x2 upscale (PANet)</option>
    <option value="landmarks">98 face landmarks of a face crop (PFLD)</option>
    <option value="boxes">object boxes (YOLOv5s)</option>
  </select>
</div>
<div id="status"></div>
<div class="row">
  <figure><img id="input" alt=""><figcaption id="input-caption">input</figcaption></figure>
  <figure><img id="result" alt=""><figcaption id="result-caption">result</figcaption>
    <a id="download" download="result.png" hidden>download the result</a></figure>
</div>
<script>
const $ = (id) => document.getElementById(id);
let lastFile = null;

function setStatus(text, error) {
  $('status').textContent = text;
  $('status').className = error ? 'error' : '';
}

async function submit(file, task) {
  lastFile = file;
  $('input').src = URL.createObjectURL(file);
  $('input-caption').textContent = 'input: ' + file.name;
  $('result').removeAttribute('src');
  $('download').hidden = true;
  setStatus('running ' + task + ' ...');
  const form = new FormData();
  form.append('image', file, file.name);
  form.append('task', task);
  let response;
  try {
    response = await fetch('/api/run', { method: 'POST', body: form });
  } catch (e) {
    setStatus('error: the server did not answer (' + e + ')', true);
    return;
  }
  if (!response.ok) {
    setStatus('error: ' + (await response.text()), true);
    return;
  }
  const ms = response.headers.get('X-Nabla-Ms'), size = response.headers.get('X-Nabla-Size');
  const url = URL.createObjectURL(await response.blob());
  $('result').onload = () => {
    const ok = $('result').naturalWidth > 0;
    setStatus(ok ? 'done: ' + size + ' ' + task + ' in ' + ms + ' ms' : 'error: the result is not an image', !ok);
  };
  $('result').src = url;
  $('result-caption').textContent = task + ' (' + size + ', ' + ms + ' ms)';
  $('download').href = url;
  $('download').hidden = false;
}

$('file').addEventListener('change', () => { if ($('file').files[0]) submit($('file').files[0], $('task').value); });
$('task').addEventListener('change', () => { if (lastFile) submit(lastFile, $('task').value); });
const drop = $('drop');
drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  if (e.dataTransfer.files[0]) submit(e.dataTransfer.files[0], $('task').value);
});

const selftest = new URLSearchParams(location.search).get('selftest');
if (selftest) {
  $('task').value = selftest;
  fetch('/api/sample?side=' + (selftest === 'upscale' ? 96 : 320))
    .then((r) => { if (!r.ok) throw new Error('no sample photo'); return r.blob(); })
    .then((blob) => submit(new File([blob], 'sample.png', { type: 'image/png' }), selftest))
    .catch((e) => setStatus('error: ' + e, true));
}
</script>
</body>
</html>
)html";

}  // namespace nabla::apps
