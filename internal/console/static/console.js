// bellhop console: live queue updates over Server-Sent Events, times in the
// browser's zone, one-click copies of ids and small form helpers. Plain
// script, no build step; every page works without it.
(function () {
  "use strict";
  var body = document.body;

  // Forms that destroy something ask first.
  document.addEventListener("submit", function (e) {
    var msg = e.target.getAttribute && e.target.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) e.preventDefault();
  });

  // A new token is selected on focus, ready to copy.
  document.querySelectorAll("[data-select]").forEach(function (el) {
    el.addEventListener("focus", function () { el.select(); });
  });

  // Times in the browser's zone, or in their enterprise's where it has one
  // (data-tz). The server writes each time in UTC, with the UTC time as its
  // title (shown on hover); here the text becomes local, by the server's
  // rule: the time of day when it is today, else the day and time, else the
  // date. A time in another zone than the browser's says which.
  var zone = "UTC";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC"; } catch (_) {}
  var formats = {};
  function format(z) {
    if (!(z in formats)) {
      try {
        formats[z] = new Intl.DateTimeFormat("en-GB", { timeZone: z, year: "numeric", month: "short", day: "numeric",
          hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23", timeZoneName: "short" });
      } catch (_) { formats[z] = null; }
    }
    return formats[z];
  }
  function parts(f, d) {
    var o = {};
    f.formatToParts(d).forEach(function (p) { o[p.type] = p.value; });
    return o;
  }
  var enterpriseZones = false;
  function localize(root) {
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      var z = el.getAttribute("data-tz") || zone, f = format(z);
      var d = new Date(el.getAttribute("datetime"));
      if (!f || isNaN(d.getTime())) return;
      var p = parts(f, d), now = parts(f, new Date());
      var text = p.year !== now.year ? p.day + " " + p.month + " " + p.year
        : p.month !== now.month || p.day !== now.day ? p.day + " " + p.month + " " + p.hour + ":" + p.minute
        : p.hour + ":" + p.minute + ":" + p.second;
      if (z !== zone) {
        text += " " + p.timeZoneName;
        enterpriseZones = true;
      }
      el.textContent = text;
      el.setAttribute("data-zone", z);
    });
  }
  if (format(zone)) {
    localize(document);
    document.querySelectorAll("[data-zone-note]").forEach(function (el) {
      el.textContent = (enterpriseZones ? "Times are in their hotel's time zone where it has one, else in yours, "
        : "Times are in your time zone, ") + zone + "; hover over one for UTC.";
    });
    // Filters take local times: the form says in which zone.
    var tz = document.getElementById("f-tz");
    if (tz) {
      if (!tz.value) tz.value = zone;
      document.querySelectorAll("[data-zone-name]").forEach(function (el) { el.textContent = "(" + tz.value + ")"; });
    }
  }

  // Copy a whole id with one click. The buttons are hidden without scripts.
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    // Plain HTTP on a LAN has no clipboard API: copy through a selection.
    var ta = document.createElement("textarea");
    ta.value = text;
    ta.setAttribute("readonly", "");
    ta.style.position = "fixed";
    ta.style.opacity = "0";
    document.body.appendChild(ta);
    ta.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (_) {}
    ta.remove();
    return ok ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }
  function enableCopy(root) {
    root.querySelectorAll("button[data-copy]").forEach(function (b) { b.hidden = false; });
  }
  enableCopy(document);
  document.addEventListener("click", function (e) {
    var b = e.target.closest && e.target.closest("button[data-copy]");
    if (!b) return;
    copyText(b.getAttribute("data-copy")).then(function () {
      b.textContent = "Copied";
      b.classList.add("copied");
    }, function () {
      b.textContent = "Select it";
    });
    setTimeout(function () { b.textContent = "Copy"; b.classList.remove("copied"); }, 1500);
  });

  // Show only the fieldsets that fit the chosen device type. Hidden ones are
  // disabled too, so they are skipped by the keyboard and not submitted.
  function switcher(select, attr, typeOf) {
    function apply() {
      var t = typeOf();
      document.querySelectorAll("fieldset[data-" + attr + "]").forEach(function (fs) {
        var on = fs.getAttribute("data-" + attr).split(" ").indexOf(t) >= 0;
        fs.hidden = !on;
        fs.disabled = !on;
      });
    }
    select.addEventListener("change", apply);
    apply();
  }
  var typeSelect = document.querySelector('select[data-switch="config"]');
  if (typeSelect) switcher(typeSelect, "config", function () { return typeSelect.value; });
  var deviceSelect = document.querySelector('select[data-switch="kind"]');
  if (deviceSelect) switcher(deviceSelect, "kind", function () {
    var o = deviceSelect.selectedOptions[0];
    return o ? o.getAttribute("data-type") : "";
  });

  var live = body.getAttribute("data-live");
  var status = document.getElementById("live-status");
  function setStatus(text, on) {
    if (!status) return;
    status.textContent = text;
    status.className = "live " + (on ? "on" : "off");
  }
  var tbody = document.getElementById("queue-rows");
  if (!live || !window.EventSource || (live === "queue" && (!tbody || tbody.hasAttribute("data-paused")))) return;

  var es = new EventSource("/events");
  es.onopen = function () { setStatus("Live", true); };
  es.onerror = function () { setStatus("Reconnecting…", false); };

  if (live === "command") {
    // A command's page reloads when the command changes, unless the user is
    // typing a cancel reason.
    var id = body.getAttribute("data-id"), timer = null;
    var refresh = function () {
      var a = document.activeElement;
      if (a && a.tagName === "INPUT" && a.value) { setStatus("This command changed: reload to see it.", false); return; }
      location.reload();
    };
    es.onmessage = function (m) {
      var e;
      try { e = JSON.parse(m.data); } catch (_) { return; }
      if (e.Id === id && !timer) timer = setTimeout(refresh, 150);
    };
    es.addEventListener("reload", function () { if (!timer) timer = setTimeout(refresh, 150); });
    return;
  }

  // The queue: collect changed ids for a moment, then fetch their rows as
  // server-rendered HTML. Known rows are replaced in place; new ones that
  // match the filter go on top. After a gap (lagged) the rows are reloaded.
  var pending = {}, count = 0, flushTimer = null, reloadAll = false;
  var MAX_ROWS = 500;
  function schedule() { if (!flushTimer) flushTimer = setTimeout(flush, 120); }
  es.onmessage = function (m) {
    var e;
    try { e = JSON.parse(m.data); } catch (_) { return; }
    if (!pending[e.Id]) { pending[e.Id] = true; count++; }
    if (count > 100) reloadAll = true;
    schedule();
  };
  es.addEventListener("reload", function () { reloadAll = true; schedule(); });

  function rows(params) {
    return fetch("/queue/rows?" + params, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (r) {
        if (r.status === 401) { location.href = "/signin"; throw new Error("signed out"); }
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.text();
      })
      .then(function (html) {
        var t = document.createElement("template");
        t.innerHTML = "<table><tbody>" + html + "</tbody></table>";
        localize(t.content);
        enableCopy(t.content);
        return Array.prototype.slice.call(t.content.querySelectorAll("tr[data-id]"));
      });
  }
  function idParams(ids) { return ids.map(function (id) { return "&id=" + encodeURIComponent(id); }).join(""); }
  function fail() { setStatus("Live update failed; reload the page.", false); }
  function settle() {
    var empty = document.getElementById("queue-empty");
    if (empty) empty.hidden = tbody.rows.length > 0;
    while (tbody.rows.length > MAX_ROWS) tbody.deleteRow(-1);
  }

  function flush() {
    flushTimer = null;
    var query = tbody.getAttribute("data-query") || "";
    var back = "back=" + encodeURIComponent(tbody.getAttribute("data-back") || "/");
    var filtered = (query ? query + "&" : "") + back;
    var ids = Object.keys(pending);
    pending = {};
    count = 0;
    if (reloadAll) {
      reloadAll = false;
      rows(filtered).then(function (list) {
        tbody.replaceChildren.apply(tbody, list);
        settle();
      }).catch(fail);
      return;
    }
    var known = [], fresh = [];
    ids.forEach(function (id) { (document.getElementById("c-" + id) ? known : fresh).push(id); });
    if (known.length) {
      // Without the filter: a row that leaves the filtered states stays, so
      // staff see it change rather than vanish.
      rows(back + idParams(known)).then(function (list) {
        list.forEach(function (tr) {
          var old = document.getElementById(tr.id);
          if (!old) return;
          var hadFocus = old.contains(document.activeElement);
          old.replaceWith(tr);
          if (hadFocus) { var a = tr.querySelector("a, button"); if (a) a.focus(); }
        });
      }).catch(fail);
    }
    if (fresh.length) {
      rows(filtered + idParams(fresh)).then(function (list) {
        list = list.filter(function (tr) { return !document.getElementById(tr.id); });
        if (!list.length) return;
        list.forEach(function (tr) { tr.classList.add("fresh"); });
        var frag = document.createDocumentFragment();
        list.forEach(function (tr) { frag.appendChild(tr); });
        tbody.insertBefore(frag, tbody.firstChild);
        settle();
        setStatus("Live · " + list.length + " new command" + (list.length === 1 ? "" : "s"), true);
      }).catch(fail);
    }
  }
})();
