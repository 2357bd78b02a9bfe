/* Barid shop panel, the money screen: the COD balance, remittances (CSV and PDF statement downloads) and disputes,
   from the shop API (/v1/balance, /v1/remittances, /v1/disputes) with the session cookie and its CSRF token.
   Text from the API is inserted as text only; Persian digits and Jalali dates come from the browser's Intl. */
"use strict";
(function () {
  var CSRF = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var NUM = new Intl.NumberFormat("fa-IR");
  var DAY = new Intl.DateTimeFormat("fa-IR-u-ca-persian", {dateStyle: "medium", timeZone: "UTC"});
  var $ = function (s) { return document.querySelector(s); };
  function el(tag, attrs) {
    var n = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { if (k === "text") n.textContent = attrs[k]; else n.setAttribute(k, attrs[k]); });
    for (var i = 2; i < arguments.length; i++) if (arguments[i] != null) n.append(arguments[i]);
    return n;
  }
  function rials(n) { return NUM.format(n) + " ریال"; }
  function day(iso) { return iso ? DAY.format(new Date(iso.slice(0, 10) + "T12:00:00Z")) : "—"; }
  function latin(s) { return String(s).replace(/[۰-۹]/g, function (d) { return d.charCodeAt(0) - 1776; }).replace(/[٠-٩]/g, function (d) { return d.charCodeAt(0) - 1632; }); }
  function problemText(p) {
    if (!p) return "پاسخی از سرور نرسید؛ اتصال را بررسی کنید.";
    return [p.detail_fa || p.title || "درخواست انجام نشد"].concat((p.errors || []).map(function (e) { return e.message_fa || e.message; })).join(" — ");
  }
  function api(method, url, body, headers) {
    var opts = {method: method, credentials: "same-origin", headers: Object.assign({"X-CSRF-Token": CSRF, "Accept": "application/json"}, headers || {})};
    if (body !== undefined) { opts.body = JSON.stringify(body); opts.headers["Content-Type"] = "application/json"; }
    return fetch(url, opts).then(function (r) {
      if (r.status === 401) location.href = "/shop/login";
      return r.json().then(function (d) { return {ok: r.ok, data: d}; }, function () { return {ok: r.ok, data: null}; });
    }, function () { return {ok: false, data: null}; });
  }

  function balance() {
    api("GET", "/v1/balance").then(function (r) {
      var dl = $("#balance");
      if (!r.ok) { $("#bal-msg").textContent = problemText(r.data); return; }
      var b = r.data, next = b.next_payout;
      [["قابل پرداخت اکنون", rials(b.due_now), "due"], ["نگه‌داشته (اعتراض یا حساب تأییدنشده)", rials(b.on_hold), "hold"],
       ["در راه بانک", rials(b.in_flight), "flight"], ["در انتظار سررسید", rials(b.pending), "pending"],
       ["واریزشده تاکنون", rials(b.remitted), "paid"],
       ["واریز بعدی", next ? rials(next.amount) + " در " + day(next.date) : "فعلاً واریزی در پیش نیست", "next"]
      ].forEach(function (p) { dl.append(el("dt", {text: p[0]}), el("dd", {id: "bal-" + p[2], text: p[1]})); });
      (b.pending_by_day || []).forEach(function (p) {
        dl.append(el("dt", {text: "سررسید " + day(p.date)}), el("dd", {text: rials(p.amount) + " (" + NUM.format(p.count) + " مرسوله)"}));
      });
    });
  }

  var cursor = null;
  function remittances(append) {
    var body = $("#rems"), status = $("#rem-status").value, q = new URLSearchParams({limit: "20"});
    if (status) q.set("status", status);
    if (append && cursor) q.set("cursor", cursor);
    if (!append) body.textContent = "";
    api("GET", "/v1/remittances?" + q).then(function (r) {
      if (!r.ok) { $("#rem-msg").textContent = problemText(r.data); return; }
      r.data.items.forEach(function (m) {
        body.append(el("tr", {"class": "rem"}, el("td", {text: day(m.period)}),
          el("td", {}, el("span", {"class": "badge", text: m.status_fa}), m.hold_reason_fa ? el("span", {"class": "note", text: " " + m.hold_reason_fa}) : null),
          el("td", {text: rials(m.total) + " (" + NUM.format(m.count) + " مرسوله)"}),
          el("td", {}, el("a", {href: m.links.lines_csv, download: m.remittance_id + ".csv", "class": "csv", text: "CSV"}), " · ",
            el("a", {href: m.links.statement_pdf, download: m.remittance_id + ".pdf", "class": "pdf", text: "PDF"}))));
      });
      cursor = r.data.next_cursor; $("#rem-more").hidden = !cursor;
      $("#rem-msg").textContent = body.children.length ? "" : "هنوز حواله‌ای برای فروشگاه شما صادر نشده است.";
    });
  }

  function disputes() {
    var ul = $("#disputes"); ul.textContent = "";
    api("GET", "/v1/disputes?limit=50").then(function (r) {
      if (!r.ok) return;
      r.data.items.forEach(function (d) {
        ul.append(el("li", {}, el("span", {dir: "ltr", "class": "tn", text: d.tracking_number}), el("span", {"class": "badge", text: d.status_fa}),
          el("span", {text: d.kind_fa + (d.held_amount ? " · نگه‌داشته: " + rials(d.held_amount) : "") + (d.resolution ? " · " + d.resolution : "")})));
      });
      if (!r.data.items.length) ul.append(el("li", {"class": "note", text: "اعتراضی ثبت نکرده‌اید."}));
    });
  }

  function disputeForm() {
    var form = $("#dispute"), top = $("#d-error"), key = null;
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      form.querySelectorAll(".bad").forEach(function (b) { b.classList.remove("bad"); b.querySelector(".field-error").textContent = ""; b.querySelector("input, select").removeAttribute("aria-invalid"); });
      top.hidden = true; $("#d-done").textContent = "";
      var body = {tracking_number: latin(form.tracking_number.value.trim()), kind: form.kind.value};
      var amount = latin(form.claimed_amount.value.trim()).replace(/[,٬]/g, "");
      if (amount) body.claimed_amount = /^\d+$/.test(amount) ? Number(amount) : amount;
      if (form.note.value.trim()) body.note = form.note.value.trim();
      key = key || (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random());  // one key per dispute: a resend replays
      api("POST", "/v1/disputes", body, {"Idempotency-Key": key}).then(function (r) {
        if (r.ok) { key = null; form.reset(); $("#d-done").textContent = "اعتراض ثبت شد؛ شمارهٔ پیگیری " + NUM.format(r.data.dispute_id) + "."; disputes(); balanceAgain(); return; }
        if (r.data && r.data.code !== "validation_failed") key = null;  // refused as a whole: a new try is a new request
        var general = [];
        (r.data && r.data.errors || []).forEach(function (x) {
          var box = form.querySelector('[data-field="' + x.field + '"]');
          if (!box) { general.push(x.message_fa || x.message); return; }
          box.classList.add("bad"); box.querySelector("input, select").setAttribute("aria-invalid", "true");
          box.querySelector(".field-error").textContent = x.message_fa || x.message;
        });
        top.hidden = false; top.textContent = [r.data ? r.data.detail_fa || r.data.title : "پاسخی از سرور نرسید."].concat(general).join(" — ");
      });
    });
  }
  function balanceAgain() { $("#balance").textContent = ""; balance(); }

  document.addEventListener("DOMContentLoaded", function () {
    balance(); remittances(false); disputes(); disputeForm();
    $("#rem-status").addEventListener("change", function () { remittances(false); });
    $("#rem-more").addEventListener("click", function () { remittances(true); });
  });
})();
