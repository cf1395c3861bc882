"""The self-contained review page: one HTML file with its style and script inline, nothing fetched.

:func:`page` fills in the pairs as a JSON block that the script reads; every value reaches the page through
``textContent``, never as markup, and the Content-Security-Policy forbids loading anything (``default-src
'none'``), so the file works offline and cannot call out when opened from a shared drive.
"""

from __future__ import annotations

import html
import json
from typing import Any

_STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 0 auto; max-width: 60rem; padding: 1rem; color: #222; }
header { position: sticky; top: 0; background: #fff; padding: .5rem 0; border-bottom: 1px solid #ccc; z-index: 1; }
.pair { border: 1px solid #ccc; border-radius: 6px; margin: 1rem 0; padding: .5rem 1rem; }
.pair.decided { border-color: #5a5; }
.pair h2 { font-size: 1rem; margin: .3rem 0; }
.meta { color: #555; margin: .2rem 0; }
.badge { display: inline-block; font-size: .8rem; padding: 0 .4rem; border-radius: 3px; background: #eee; margin-left: .3rem; }
.badge.registered { background: #fde2b8; }
table { border-collapse: collapse; width: 100%; margin: .4rem 0; }
th, td { text-align: left; padding: .15rem .4rem; border-bottom: 1px solid #eee; vertical-align: top; }
td.bits { text-align: right; font-variant-numeric: tabular-nums; }
tr.agree td.level { color: #176317; }
tr.partial td.level { color: #7a6a00; }
tr.disagree td.level { color: #a11; }
tr.missing td.level { color: #888; }
.choices button { margin-right: .4rem; padding: .25rem .7rem; border: 1px solid #888; border-radius: 4px; background: #f6f6f6; cursor: pointer; }
.choices button.chosen { background: #2b6cb0; border-color: #2b6cb0; color: #fff; }
#save { padding: .35rem 1rem; font-weight: bold; }
.note { color: #555; font-size: .9rem; }
"""

_SCRIPT = """
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("review-data").textContent);
  var decisions = {};
  var LABELS = [["same", "same person"], ["not_same", "not the same"], ["skip", "skip"]];

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function count() {
    var done = 0;
    Object.keys(decisions).forEach(function (key) { if (decisions[key] !== "skip") { done += 1; } });
    document.getElementById("progress").textContent = done + " of " + data.pairs.length + " pairs decided";
  }

  function card(pair, index) {
    var section = el("section", "pair");
    section.id = "pair-" + index;
    section.setAttribute("data-pair-id", pair.pair_id);
    var title = el("h2", null, (index + 1) + ". " + pair.left + " ~ " + pair.right);
    pair.registered.forEach(function (registered, side) {
      if (registered) { title.appendChild(el("span", "badge registered", (side ? "right" : "left") + ": registered account")); }
    });
    section.appendChild(title);
    section.appendChild(el("p", "meta", "score " + pair.score.toFixed(1) + " bits" + (pair.reason ? " \\u2014 " + pair.reason : "")));
    var table = el("table");
    var head = el("tr");
    ["field", "level", "bits", pair.left, pair.right].forEach(function (name) { head.appendChild(el("th", null, name)); });
    table.appendChild(head);
    var cells = [];
    pair.evidence.forEach(function (item) {
      var row = el("tr", item.outcome);
      row.appendChild(el("td", "field", item.field));
      row.appendChild(el("td", "level", item.level + (item.note ? " (" + item.note + ")" : "")));
      row.appendChild(el("td", "bits", (item.bits >= 0 ? "+" : "") + item.bits.toFixed(2)));
      item.masked.forEach(function (masked, side) {
        var cell = el("td", "value", masked);
        cells.push([cell, masked, item.shown ? item.shown[side] : masked]);
        row.appendChild(cell);
      });
      table.appendChild(row);
    });
    section.appendChild(table);
    var choices = el("div", "choices");
    LABELS.forEach(function (label) {
      var button = el("button", "choice", label[1]);
      button.type = "button";
      button.setAttribute("data-decision", label[0]);
      button.addEventListener("click", function () {
        decisions[pair.pair_id] = label[0];
        Array.prototype.forEach.call(choices.querySelectorAll("button.choice"), function (other) {
          other.classList.toggle("chosen", other === button);
        });
        section.classList.toggle("decided", label[0] !== "skip");
        count();
      });
      choices.appendChild(button);
    });
    if (data.reveal) {
      var toggle = el("button", "show", "show personal data");
      toggle.type = "button";
      var shown = false;
      toggle.addEventListener("click", function () {
        shown = !shown;
        cells.forEach(function (entry) { entry[0].textContent = shown ? entry[2] : entry[1]; });
        toggle.textContent = shown ? "hide personal data" : "show personal data";
      });
      choices.appendChild(toggle);
    }
    section.appendChild(choices);
    return section;
  }

  function save() {
    var out = data.pairs.map(function (pair) {
      return { pair_id: pair.pair_id, left: pair.left, right: pair.right, decision: decisions[pair.pair_id] || "skip" };
    });
    var text = JSON.stringify({ format: data.format, version: data.version, decisions: out }, null, 1);
    var url = URL.createObjectURL(new Blob([text], { type: "application/json" }));
    var link = document.getElementById("download");
    link.href = url;
    link.download = data.filename;
    link.click();
    document.getElementById("saved").textContent = "saved " + out.length + " decisions as " + data.filename;
  }

  var list = document.getElementById("pairs");
  data.pairs.forEach(function (pair, index) { list.appendChild(card(pair, index)); });
  document.getElementById("save").addEventListener("click", save);
  count();
})();
"""


def _json_for_script(value: Any) -> str:
    """JSON that cannot end the script block it sits in, whatever the strings hold."""
    text = json.dumps(value, ensure_ascii=True, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def page(data: dict[str, Any]) -> str:
    """The page for ``data`` (``title``, ``reveal``, ``pairs`` and the decisions file's ``format``, ``version``
    and ``filename``)."""
    title = html.escape(str(data["title"]))
    reveal_note = (
        "This page holds personal data behind the show buttons: keep it where only reviewers can read it, and "
        "delete it once the decisions are applied."
        if data["reveal"]
        else "Personal values are masked: this page holds ids, scores and match levels only."
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; \
script-src 'unsafe-inline'; base-uri 'none'; form-action 'none'">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{_STYLE}</style>
</head>
<body>
<header>
<h1>{title}</h1>
<p class="note">Decide each pair: same person (merged when applied), not the same (never proposed again) or
skip. Then save the decisions and apply the file with <code>custdata dedupe --apply-decisions FILE</code>.
{html.escape(reveal_note)}</p>
<button id="save" type="button">save decisions</button> <span id="progress"></span> <span id="saved"></span>
<a id="download" hidden></a>
</header>
<main id="pairs"></main>
<script type="application/json" id="review-data">{_json_for_script(data)}</script>
<script>{_SCRIPT}</script>
</body>
</html>
"""
