// Progressive enhancement for the incident finder: results update as filters change,
// without a full reload. Without JavaScript the form is a plain GET form.
(function () {
  "use strict";
  var form = document.getElementById("filter-form");
  var results = document.getElementById("results");
  if (!form || !results || !window.fetch || !window.DOMParser) return;
  var timer = null;
  var pending = null;
  var panel = document.getElementById("filter-panel");
  // Wide screens show the filters beside the results; narrow ones keep them folded.
  function wide() { return window.matchMedia && window.matchMedia("(min-width: 801px)").matches; }
  if (panel && wide()) panel.open = true;

  function urlFor(f) {
    var params = new URLSearchParams(new FormData(f));
    var keep = new URLSearchParams();
    params.forEach(function (value, key) { if (value !== "") keep.append(key, value); });
    var qs = keep.toString();
    return f.action + (qs ? "?" + qs : "");
  }

  function load(url, push) {
    if (pending) pending.abort();
    pending = new AbortController();
    results.setAttribute("aria-busy", "true");
    fetch(url, { signal: pending.signal, credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("results");
        if (!fresh) { window.location.href = url; return; }
        results.innerHTML = fresh.innerHTML;
        // The export links and the saved search follow the query too.
        var tools = document.getElementById("results-tools");
        var freshTools = doc.getElementById("results-tools");
        if (tools && freshTools) tools.innerHTML = freshTools.innerHTML;
        document.title = doc.title;
        // The sort menu's options follow the search (relevance only with one).
        var sort = document.getElementById("id_sort");
        var freshSort = doc.getElementById("id_sort");
        if (sort && freshSort && sort.innerHTML !== freshSort.innerHTML) {
          var chosen = sort.value;
          sort.innerHTML = freshSort.innerHTML;
          sort.value = chosen;
        }
        if (push) history.pushState({ finder: true }, "", url);
      })
      .catch(function (err) { if (err.name !== "AbortError") window.location.href = url; })
      .finally(function () { results.removeAttribute("aria-busy"); });
  }

  form.addEventListener("input", function (event) {
    if (event.target.dataset.update === "change") return;
    if (event.target.type === "search" || event.target.type === "text" || event.target.type === "number") {
      clearTimeout(timer);
      timer = setTimeout(function () { load(urlFor(form), true); }, 300);
    }
  });
  form.addEventListener("change", function (event) {
    if (event.target.tagName === "SELECT" || event.target.dataset.update === "change") load(urlFor(form), true);
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    load(urlFor(form), true);
    // On a phone the filters sit above the results: applying them folds the filters
    // and brings the results into view.
    if (panel && !wide()) {
      panel.open = false;
      results.scrollIntoView({ block: "start" });
    }
  });
  results.addEventListener("click", function (event) {
    var link = event.target.closest("a");
    if (link && link.search !== undefined && link.pathname === window.location.pathname) {
      event.preventDefault();
      load(link.href, true);
    }
  });
  window.addEventListener("popstate", function () { window.location.reload(); });
})();
