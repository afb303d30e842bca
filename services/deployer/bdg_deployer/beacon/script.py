"""The opt-in client error beacon: ``/_bdg/beacon.js``, which a site's pages include with
``<script src="/_bdg/beacon.js" defer></script>``.

One script for both places a site is served. On the local edge it reports errors only
(``/_bdg/beacon?release=``; the edge counts the requests it serves). On a cloud provider the
deployer adds it to the release's files with the release's name and key, and it reports the page
view and, once per page, an error (``window.onerror`` or an unhandled rejection) to the
collector: the canary's error rate is then pages with an error over pages viewed, the binomial
count the sequential test expects. ``navigator.sendBeacon`` with a ``text/plain`` body is a
CORS-safelisted request: no preflight, and it survives the page being closed.
"""

from __future__ import annotations

import json

PATH = "_bdg/beacon.js"

_TEMPLATE = """(function () {
  var url = %(url)s, body = %(body)s, views = %(views)s, sent = false;
  function send(v, e) {
    var data = JSON.stringify(Object.assign({}, body, views ? {views: v, errors: e} : {}));
    try {
      var blob = new Blob([data], {type: "text/plain"});
      if (navigator.sendBeacon && navigator.sendBeacon(url, blob)) return;
      fetch(url, {method: "POST", body: data, keepalive: true, mode: "no-cors"});
    } catch (_) {}
  }
  function failed() { if (!sent) { sent = true; send(0, 1); } }
  window.addEventListener("error", failed);
  window.addEventListener("unhandledrejection", failed);
  if (views) send(1, 0);
})();
"""


def _script(url: str, body: dict[str, str], views: bool) -> bytes:
    # json.dumps escapes quotes; "</" is escaped too so the values cannot close a script tag.
    fields = {
        "url": json.dumps(url).replace("</", "<\\/"),
        "body": json.dumps(body).replace("</", "<\\/"),
        "views": "true" if views else "false",
    }
    return (_TEMPLATE % fields).encode()


def cloud_script(collector: str, release: str, key: str) -> bytes:
    """What a cloud release carries: views and errors to ``collector``, keyed."""
    return _script(collector, {"release": release, "key": key}, views=True)


def edge_script(release: str) -> bytes:
    """What the edge answers for the release it serves this visitor: errors only."""
    return _script(f"/_bdg/beacon?release={release}", {}, views=False)
