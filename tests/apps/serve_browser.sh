#!/usr/bin/env bash
# tests/apps/serve_browser.sh NABLA OUTDIR — `nabla serve` in a real browser: starts the server on a free port, loads
# its page in headless Chromium with ?selftest=mask and ?selftest=upscale (the page uploads the server's sample
# photo through the same code as a dropped file, waits for the result image and writes "done: WxH TASK in N ms"),
# checks the page's final DOM for that line, and saves a screenshot of each into OUTDIR. Exit 77 (CTest: skipped)
# when chromium is not installed.
set -euo pipefail
nabla=$1 out=$2
browser=$(command -v chromium || command -v chromium-browser || true)
if [[ -z $browser ]]; then
    echo "serve_browser: skipped: chromium is not installed (apt-get install chromium)"
    exit 77
fi
mkdir -p "$out"
log=$out/serve.log
"$nabla" serve --port 0 > "$log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
url=""
for _ in $(seq 1 300); do  # the models load first: wait for "serving on http://127.0.0.1:PORT/"
    url=$(sed -n 's/^serving on \(http[^ ]*\).*/\1/p' "$log")
    [[ -n $url ]] && break
    kill -0 $server 2>/dev/null || { cat "$log"; echo "serve_browser: the server died"; exit 1; }
    sleep 0.2
done
[[ -n $url ]] || { cat "$log"; echo "serve_browser: the server did not start"; exit 1; }
flags=(--headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run --hide-scrollbars
       --user-data-dir="$out/profile" --window-size=1280,760 --virtual-time-budget=120000)
for task in mask upscale; do
    dom=$("$browser" "${flags[@]}" --dump-dom "${url}?selftest=$task" 2>/dev/null)
    status=$(sed -n 's/.*<div id="status"[^>]*>\([^<]*\)<.*/\1/p' <<< "$dom")
    echo "serve_browser: $task: $status"
    [[ $status == "done: "*" $task in "*" ms" ]] || { echo "serve_browser: $task: no result in the page"; exit 1; }
    "$browser" "${flags[@]}" --screenshot="$out/serve_$task.png" "${url}?selftest=$task" > /dev/null 2>&1 || true
done
echo "serve_browser: passed; screenshots in $out"
