/* Statutory guidance knowledge base: a search box for intranet pages.
 *
 * Either one tag, which puts the search box where the tag is:
 *   <script src="https://kb.example/widget.js" data-kb-search></script>
 * or the script once and <kb-search> elements wherever they are wanted:
 *   <script src="https://kb.example/widget.js" defer></script>
 *   <kb-search label="Search HR law" limit="5" status="current"></kb-search>
 *
 * Options (attributes on <kb-search>, or data-* on the one-tag script):
 *   base      the knowledge base's address (default: where this script came from)
 *   label     the search box's visible label
 *   limit     results shown, 1 to 20 (default 5)
 *   status    a status filter, e.g. "current" for in-force text only
 *   doc-type  a document type filter, e.g. "act" or "statutory_guidance"
 *   mode      "keyword" or "hybrid" (words and their meaning; where the knowledge base cannot
 *             rank that way, the widget searches by keyword instead); default: the server's
 *
 * Theme with CSS custom properties on the element or any ancestor: --kb-font, --kb-font-size,
 * --kb-text, --kb-muted, --kb-background, --kb-accent, --kb-accent-text, --kb-border,
 * --kb-focus, --kb-mark, --kb-warning, --kb-radius.
 *
 * Everything renders inside a shadow root, so page styles and widget styles never meet. Text
 * from the API is only ever set with textContent; snippets keep their <mark> tags and nothing else.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  var scriptBase = script && script.src ? new URL(".", script.src).href : "";

  // The knowledge base's vocabularies (kb.core.vocabularies), written in when /widget.js is
  // served (kb.web.embed): status labels, the statuses that are current, and what a passage
  // that is part of a document but not its law is, by its pin's first step.
  var VOCABULARY = {};
  var STATUS_LABELS = VOCABULARY.status_labels || {};
  var CURRENT = VOCABULARY.current_statuses || [];
  var NOT_OPERATIVE = VOCABULARY.not_operative || {};

  var STYLE = [
    ".kb { all: initial; display: block; box-sizing: border-box;",
    "  font-family: var(--kb-font, system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif);",
    "  font-size: var(--kb-font-size, 1rem); line-height: 1.5; color: var(--kb-text, #1b1f23);",
    "  background: var(--kb-background, #ffffff); border: 1px solid var(--kb-border, #c9d1d9);",
    "  border-radius: var(--kb-radius, 0); padding: 1em; }",
    ".kb *, .kb *::before, .kb *::after { box-sizing: border-box; }",
    "label { display: block; font-weight: 700; margin-bottom: .35em; }",
    ".row { display: flex; gap: .5em; }",
    "input { flex: 1; min-width: 0; font: inherit; color: inherit; background: var(--kb-background, #fff);",
    "  padding: .4em .55em; border: 2px solid var(--kb-text, #1b1f23); border-radius: var(--kb-radius, 0); }",
    "button { font: inherit; font-weight: 700; cursor: pointer; padding: .4em 1em;",
    "  color: var(--kb-accent-text, #ffffff); background: var(--kb-accent, #1d5fa8);",
    "  border: 2px solid var(--kb-accent, #1d5fa8); border-radius: var(--kb-radius, 0); }",
    "input:focus-visible, button:focus-visible, a:focus-visible {",
    "  outline: 3px solid var(--kb-focus, #ffbf47); outline-offset: 0; box-shadow: 0 0 0 5px var(--kb-text, #1b1f23); }",
    "a:focus-visible { background: var(--kb-focus, #ffbf47); color: var(--kb-text, #1b1f23); }",
    "a { color: var(--kb-accent, #1d5fa8); text-underline-offset: .15em; }",
    ".status { margin: .6em 0 0; color: var(--kb-muted, #4a5560); font-size: .92em; }",
    ".status:empty { display: none; }",
    ".status.error { color: var(--kb-warning, #8a2c00); font-weight: 700; }",
    "ol { list-style: none; margin: .25em 0 0; padding: 0; }",
    "li { border-top: 1px solid var(--kb-border, #c9d1d9); padding: .6em 0; }",
    ".cite { font-weight: 700; }",
    ".meta { display: flex; flex-wrap: wrap; gap: .2em .6em; align-items: center; margin: .2em 0 0;",
    "  color: var(--kb-muted, #4a5560); font-size: .85em; }",
    ".badge { font-weight: 700; border: 1px solid currentColor; padding: 0 .4em; }",
    ".badge.warning { color: var(--kb-warning, #8a2c00); }",
    "li.not-current { border-left: 4px solid var(--kb-warning, #8a2c00); padding-left: .6em; }",
    ".heading { margin: .2em 0 0; color: var(--kb-muted, #4a5560); font-size: .85em; }",
    ".snippet { margin: .25em 0 0; font-size: .92em; }",
    "mark { background: var(--kb-mark, #fff0a8); color: inherit; padding: 0 .1em; }",
    ".more { margin: .5em 0 0; font-size: .92em; }",
    ".more[hidden] { display: none; }"
  ].join("\n");

  var MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
    "September", "October", "November", "December"];

  // '2030-06-30' -> '30 June 2030', as the pages write dates; anything else as it is.
  function longDate(iso) {
    var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(iso || ""));
    if (!m || +m[2] < 1 || +m[2] > 12) return String(iso || "");
    return (+m[3]) + " " + MONTHS[+m[2] - 1] + " " + m[1];
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    if (text != null) node.textContent = text;
    return node;
  }

  // The API escapes snippet text and adds only <mark>; parse it inertly and keep only that.
  function snippetNodes(html) {
    var parsed = new DOMParser().parseFromString("<body>" + String(html || ""), "text/html");
    var out = [];
    parsed.body.childNodes.forEach(function (node) {
      if (node.nodeType === 1 && node.nodeName === "MARK") {
        out.push(el("mark", {}, node.textContent));
      } else {
        out.push(document.createTextNode(node.textContent));
      }
    });
    return out;
  }

  function addStyles(root) {
    if (root.adoptedStyleSheets !== undefined && typeof CSSStyleSheet === "function") {
      try {
        var sheet = new CSSStyleSheet();
        sheet.replaceSync(STYLE);
        root.adoptedStyleSheets = [sheet];
        return;
      } catch (e) { /* fall back to a <style> element */ }
    }
    root.appendChild(el("style", {}, STYLE));
  }

  class KbSearch extends HTMLElement {
    connectedCallback() {
      if (this.shadowRoot) return;
      var root = this.attachShadow({ mode: "open" });
      addStyles(root);
      var box = el("div", { "class": "kb", part: "container" });
      var form = el("form", { role: "search", "aria-label": "Statutory guidance knowledge base" });
      var label = el("label", { "for": "kb-q" }, this.getAttribute("label") || "Search statutory guidance");
      var row = el("div", { "class": "row" });
      this.input = el("input", { type: "search", id: "kb-q", name: "q", autocomplete: "off", maxlength: "500", enterkeyhint: "search" });
      row.append(this.input, el("button", { type: "submit" }, "Search"));
      form.append(label, row);
      this.status = el("p", { "class": "status", role: "status", "aria-live": "polite" });
      this.list = el("ol", { "class": "results", "aria-label": "Search results" });
      this.list.hidden = true;
      this.more = el("p", { "class": "more" });
      this.more.hidden = true;
      box.append(form, this.status, this.list, this.more);
      root.appendChild(box);
      this.seq = 0;
      var self = this;
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        self.search(self.input.value.trim());
      });
    }

    get base() {
      var base = this.getAttribute("base") || scriptBase || document.baseURI;
      return base.endsWith("/") ? base : base + "/";
    }

    params(q) {
      var params = new URLSearchParams({ q: q });
      var limit = parseInt(this.getAttribute("limit") || "5", 10);
      params.set("limit", String(Math.min(Math.max(limit || 5, 1), 20)));
      if (this.getAttribute("status")) params.set("status", this.getAttribute("status"));
      if (this.getAttribute("doc-type")) params.set("doc_type", this.getAttribute("doc-type"));
      var mode = (this.getAttribute("mode") || "").toLowerCase();
      if (mode === "keyword" || mode === "hybrid") params.set("mode", mode);
      return params;
    }

    say(text, isError) {
      this.status.textContent = text;
      this.status.classList.toggle("error", !!isError);
    }

    search(q) {
      var self = this;
      var seq = ++this.seq;
      this.list.hidden = true;
      this.more.hidden = true;
      if (!q) { this.say("Type some words to search for.", true); this.input.focus(); return; }
      this.say("Searching…");
      var params = this.params(q);
      this.fetch(params).then(function (reply) {
        // A server that cannot rank by meaning answers hybrid_unavailable: search by keyword.
        if (reply.ok || reply.body.error !== "hybrid_unavailable") return reply;
        params.delete("mode");
        return self.fetch(params);
      }).then(function (reply) {
        if (seq !== self.seq) return;
        if (!reply.ok) { self.say(reply.body.message || "That search could not be run.", true); return; }
        self.show(q, params, reply.body);
      }).catch(function () {
        if (seq !== self.seq) return;
        self.say(
          "The knowledge base could not be reached from this page. If this page is on another " +
          "site, ask the knowledge base's operator to add its address to KB_CORS_ORIGINS.",
          true
        );
      });
    }

    fetch(params) {
      return fetch(this.base + "api/v1/search?" + params, {
        mode: "cors", credentials: "omit", headers: { Accept: "application/json" }
      }).then(function (response) {
        return response.json().then(function (body) { return { ok: response.ok, body: body }; });
      });
    }

    show(q, params, body) {
      var self = this;
      this.list.replaceChildren();
      body.results.forEach(function (hit) { self.list.appendChild(self.item(hit)); });
      this.list.hidden = body.results.length === 0;
      var total = body.total;
      var found = (total === 1 ? "1 passage" : total + " passages") + " found for “" + q + "”.";
      if (total > body.results.length) found += " Showing the first " + body.results.length + ".";
      if (body.relaxed) found += " None has all your words.";
      this.say(found);
      var page = new URLSearchParams(params);
      page.delete("limit");
      this.more.replaceChildren(el("a", { href: this.base + "?" + page }, total > body.results.length
        ? "See all " + total + " results in the knowledge base" : "Open this search in the knowledge base"));
      this.more.hidden = false;
    }

    item(hit) {
      var current = CURRENT.indexOf(hit.status) !== -1;
      var li = el("li", { "class": current ? "result" : "result not-current" });
      var href = new URL(hit.url, this.base);
      if (href.protocol !== "https:" && href.protocol !== "http:") href = new URL(this.base);
      li.appendChild(el("a", { "class": "cite", href: href.href }, hit.citation));
      var meta = el("p", { "class": "meta" });
      var status = STATUS_LABELS[hit.status] || String(hit.status || "");
      var badge = el("span", { "class": current ? "badge" : "badge warning" }, status);
      if (!current && hit.status_date) {  // people read the long date; machines the ISO one
        badge.append(" on ", el("time", { datetime: hit.status_date }, longDate(hit.status_date)));
      }
      meta.appendChild(badge);
      if (hit.operative === false) {
        var first = String(hit.pin || "").split("/")[0];
        var kind = Object.prototype.hasOwnProperty.call(NOT_OPERATIVE, first)
          ? NOT_OPERATIVE[first] : "not operative text";
        meta.appendChild(el("span", { "class": "badge" }, "Not operative text: " + kind));
      }
      if (hit.outstanding_changes) {
        meta.appendChild(el("span", { "class": "badge warning" }, "Outstanding changes"));
      }
      if (hit.short_citation) meta.appendChild(el("span", {}, hit.short_citation));
      if (hit.sample) meta.appendChild(el("span", {}, "Sample document"));
      li.appendChild(meta);
      if (hit.heading) {  // where the passage sits; a word matched in it is marked
        var heading = el("p", { "class": "heading" });
        heading.append.apply(heading, hit.heading_html ? snippetNodes(hit.heading_html)
          : [document.createTextNode(hit.heading)]);
        li.appendChild(heading);
      }
      var snippet = el("p", { "class": "snippet" });
      snippet.append.apply(snippet, snippetNodes(hit.snippet_html));
      li.appendChild(snippet);
      return li;
    }
  }

  if (!customElements.get("kb-search")) customElements.define("kb-search", KbSearch);

  // One-tag use: <script src=".../widget.js" data-kb-search> puts a <kb-search> where it stands.
  if (script && script.hasAttribute("data-kb-search")) {
    var widget = document.createElement("kb-search");
    ["base", "label", "limit", "status", "doc-type", "mode"].forEach(function (name) {
      var value = script.getAttribute("data-" + name);
      if (value) widget.setAttribute(name, value);
    });
    script.insertAdjacentElement("afterend", widget);
  }
})();
