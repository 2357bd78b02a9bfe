/* Barid shop panel: the returns screen, on /v1/returns and /v1/shipments/{number}/cancel with the session and its
   CSRF token. Loaded after panel.js and handover.js (their helpers: window.BaridPanel, BaridPanel.forms). */
"use strict";
(function () {
  var P = window.BaridPanel, api = P.api, el = P.el, fa = P.fa, when = P.when, latin = P.latin;
  var $ = function (s, r) { return (r || document).querySelector(s); };
  var KIND = {buyer_return: "مرجوعی خریدار", return_to_sender: "بازگشت به فرستنده پس از تحویل ناموفق"};
  // Refusals about the parcel named: said beside its tracking number, not above the form.
  var ABOUT_TN = {shipment_not_found: 1, return_not_delivered: 1, return_window_closed: 1, return_exists: 1,
    return_of_return: 1};

  function withId(attrs, id) { if (id) attrs.id = id; return attrs; }
  function parcelLink(tn, id) {
    return el("a", withId({href: "/shop/parcels/" + encodeURIComponent(tn), "class": "tn", dir: "ltr", text: tn}, id));
  }
  function labelLink(r, id) {
    var href = (r.label_url || "/v1/shipments/" + encodeURIComponent(r.tracking_number) + "/label") + "?format=pdf";
    return el("a", withId({href: href, download: r.tracking_number + ".pdf", "class": "pdf",
      text: "برچسب بازگشت (PDF) " + r.tracking_number}, id));
  }

  function returns() {
    var form = $("#ret"), done = $("#ret-done"), F = P.forms, reasons = {}, cursor = null;
    form.reason.querySelectorAll("option").forEach(function (o) { if (o.value) reasons[o.value] = o.textContent; });
    function card(r) {
      var msg = el("p", {"class": "field-error", role: "status"});
      var item = el("article", {"class": "item", "data-tn": r.tracking_number}, parcelLink(r.tracking_number), " ",
        el("span", {"class": "badge st-" + r.status, text: P.STATUS[r.status] || r.status}),
        el("p", {text: [KIND[r.kind] || r.kind, r.return_reason ? "علت: " + (reasons[r.return_reason] || r.return_reason) : ""]
          .filter(Boolean).join(" · ")}),
        el("p", {}, "بازگشتِ مرسولهٔ ", parcelLink(r.return_of)),
        el("p", {"class": "note", text: "ثبت " + when(r.created_at) + (r.status_at ? " · آخرین تغییر " + when(r.status_at) : "")}));
      if (r.status !== "cancelled") item.append(labelLink(r), " ");
      if (r.kind === "buyer_return" && r.status === "pre_transit") {  // not yet handed in: the API still cancels it
        item.append(el("button", {type: "button", "class": "danger", text: "لغو مرجوعی", on: function () {
          if (!confirm("مرجوعی " + r.tracking_number + " لغو شود؟")) return;
          api("POST", "/v1/shipments/" + encodeURIComponent(r.tracking_number) + "/cancel").then(function (c) {
            if (c.ok) list(false); else msg.textContent = P.problemText(c.data);
          });
        }}));
      }
      item.append(msg);
      return item;
    }
    function list(append) {
      var box = $("#rets"), note = $("#rets-note"), q = new URLSearchParams({limit: "50"});
      if ($("#r-kind").value) q.set("kind", $("#r-kind").value);
      if (append && cursor) q.set("after", cursor);
      note.textContent = "در حال بارگیری…";
      return api("GET", "/v1/returns?" + q).then(function (r) {
        if (!append) box.textContent = "";
        if (!r.ok) { note.textContent = P.problemText(r.data); return; }
        r.data.data.forEach(function (x) { box.append(card(x)); });
        cursor = r.data.next_after; $("#rets-more").hidden = !r.data.has_more;
        note.textContent = box.children.length ? "" : "هنوز مرسولهٔ بازگشتی‌ای نیست.";
      });
    }
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      F.clear(form); done.hidden = true; done.textContent = "";
      var b = {tracking_number: latin(form.tracking_number.value.trim()).toUpperCase(), reason: form.reason.value};
      F.busy(form, true);
      api("POST", "/v1/returns", b).then(function (r) {
        F.busy(form, false);
        if (!r.ok) {
          var p = r.data;
          if (p && ABOUT_TN[p.code] && !p.field) p.field = "tracking_number";
          F.show(form, p); return;
        }
        done.hidden = false;
        done.append(el("p", {id: "ret-made"}, "مرجوعی ثبت شد. شمارهٔ رهگیری بازگشت: ", parcelLink(r.data.tracking_number)),
          el("p", {}, labelLink(r.data, "ret-label")));
        form.reset(); list(false);
      });
    });
    $("#r-kind").addEventListener("change", function () { list(false); });
    $("#rets-more").addEventListener("click", function () { list(true); });
    list(false);
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (document.body.dataset.page === "returns") returns();
  });
})();
