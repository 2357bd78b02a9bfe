/* Barid shop panel: the handover screens (pickups, manifests), on /v1/pickups and /v1/manifests with the session
   and its CSRF token. Loaded after panel.js on those two pages only; uses its helpers (window.BaridPanel). */
"use strict";
(function () {
  var P = window.BaridPanel, api = P.api, el = P.el, fa = P.fa, when = P.when, latin = P.latin;
  var $ = function (s, r) { return (r || document).querySelector(s); };
  var OPEN = {scheduled: 1, assigned: 1};
  var FAILED = {shop_absent: "فروشگاه در محل حضور نداشت", parcels_not_ready: "مرسوله‌ها آماده نبود",
    premises_closed: "محل تعطیل بود", late_attempt: "مأمور دیرتر از بازه رسید"};

  function lines(text) { return latin(text).split(/[\s,،]+/).filter(Boolean).map(function (t) { return t.toUpperCase(); }); }
  function day(iso) { return iso ? P.DAY.format(new Date(iso + "T12:00:00+03:30")) : ""; }

  // A problem's messages beside the fields they name: a field error's `field` ("tracking_numbers[2]" goes to
  // its list), or a rule's problem's own `field`; the rest above the form.
  function clearErrors(form) {
    form.querySelectorAll(".bad").forEach(function (b) {
      b.classList.remove("bad"); b.querySelector(".field-error").textContent = "";
      b.querySelectorAll("input, select, textarea").forEach(function (i) { i.removeAttribute("aria-invalid"); });
    });
    $("#form-error", form).hidden = true;
  }
  function showErrors(form, p) {
    var general = [], errs = (p && p.errors) || [];
    if (p && p.field && !errs.length) errs = [{field: p.field, message_fa: p.detail_fa || p.title}];
    errs.forEach(function (e) {
      var name = String(e.field || "").split(/[.[]/)[0], box = name && form.querySelector('[data-field="' + name + '"]');
      if (!box) { general.push(e.message_fa || e.message); return; }
      box.classList.add("bad");
      box.querySelectorAll("input, select, textarea").forEach(function (i) { i.setAttribute("aria-invalid", "true"); });
      var out = box.querySelector(".field-error");
      out.textContent = (out.textContent ? out.textContent + " " : "") + (e.message_fa || e.message);
    });
    var top = $("#form-error", form);
    if (p && p.field && !(p.errors || []).length && !general.length) return;  // said beside its field
    top.hidden = false;
    top.textContent = [p ? p.detail_fa || p.title : "پاسخی از سرور نرسید؛ اتصال را بررسی کنید."].concat(general).join(" — ");
  }

  function busy(form, on) {
    var b = form.querySelector("button[type=submit]");
    b.disabled = on; b.setAttribute("aria-busy", on ? "true" : "false");
  }

  // -- pickups ---------------------------------------------------------------------------------------------------
  function pickups() {
    var form = $("#pickup"), done = $("#pickup-done"), editing = null;
    function body() {
      var b = {date: form.date.value, window: {from: form.from.value, to: form.to.value}}, tns = lines(form.tracking_numbers.value);
      var n = latin(form.expected_count.value.trim());
      if (tns.length) b.tracking_numbers = tns; else b.expected_count = /^\d+$/.test(n) ? Number(n) : (n || null);
      if (b.expected_count === null) delete b.expected_count;
      b.instructions = form.instructions.value.trim();
      if (form.contact_mobile.value.trim()) b.contact_mobile = latin(form.contact_mobile.value.trim());
      return b;
    }
    function reset() {
      editing = null; form.reset(); $("#pickup-head").textContent = "درخواست جمع‌آوری تازه";
      $("#pickup-submit").textContent = "ثبت درخواست جمع‌آوری"; $("#pickup-reset").hidden = true;
    }
    function edit(p) {
      editing = p.pickup_id; clearErrors(form); done.hidden = true; done.textContent = "";
      if (!form.date.querySelector('option[value="' + p.date + '"]')) form.date.append(el("option", {value: p.date, text: day(p.date)}));
      form.date.value = p.date; form.from.value = p.window.from; form.to.value = p.window.to;
      form.tracking_numbers.value = (p.tracking_numbers || []).join("\n");
      form.expected_count.value = (p.tracking_numbers || []).length ? "" : fa(p.expected_count);
      form.instructions.value = p.instructions || ""; form.contact_mobile.value = p.contact_mobile || "";
      $("#pickup-head").textContent = "ویرایش درخواست " + fa(p.confirmation_code);
      $("#pickup-submit").textContent = "ثبت تغییرها"; $("#pickup-reset").hidden = false;
      form.scrollIntoView(); form.date.focus();
    }
    function card(p) {
      var open = OPEN[p.status] && Date.now() < Date.parse(p.cutoff), office = p.collecting_office || {};
      var msg = el("p", {"class": "field-error", role: "status"});
      var item = el("article", {"class": "item", "data-id": p.pickup_id},
        el("strong", {text: day(p.date) + "، " + fa(p.window.from) + " تا " + fa(p.window.to) + " "}),
        el("span", {"class": "badge st-" + p.status, text: p.status_fa || p.status}),
        el("p", {text: ["کد تأیید " + fa(p.confirmation_code), fa(p.expected_count) + " مرسوله",
          "جمع‌آوری: " + (office.name_fa || office.code || "")].join(" · ")}),
        p.address && p.address.address ? el("p", {"class": "note", text: "نشانی: " + [p.address.city, p.address.address].filter(Boolean).join("، ")}) : null,
        p.assigned_to ? el("p", {text: "نامه‌رسان: " + p.assigned_to}) : null,
        p.failure_reason ? el("p", {"class": "error", text: "علت: " + (FAILED[p.failure_reason] || p.failure_reason)}) : null,
        p.instructions ? el("p", {"class": "note", text: "توضیح: " + p.instructions}) : null,
        el("p", {"class": "note", text: open ? "تغییر یا لغو تا " + when(p.cutoff) : "تغییر و لغو دیگر ممکن نیست."}));
      if (open) {
        item.append(el("button", {type: "button", text: "ویرایش", on: function () { edit(p); }}), " ",
          el("button", {type: "button", "class": "danger", text: "لغو درخواست", on: function () {
            if (!confirm("درخواست جمع‌آوری " + fa(p.date) + " لغو شود؟")) return;
            api("POST", "/v1/pickups/" + encodeURIComponent(p.pickup_id) + "/cancel").then(function (r) {
              if (r.ok) list(); else msg.textContent = P.problemText(r.data);
            });
          }}), " ",
          el("a", {href: "/shop/manifests?pickup=" + encodeURIComponent(p.pickup_id), text: "فهرست تحویل این جمع‌آوری"}));
      }
      item.append(msg);
      return item;
    }
    function list() {
      var box = $("#pickups"), note = $("#pickups-note");
      note.textContent = "در حال بارگیری…";
      return api("GET", "/v1/pickups?limit=50").then(function (r) {
        box.textContent = "";
        if (!r.ok) { note.textContent = P.problemText(r.data); return; }
        r.data.data.forEach(function (p) { box.append(card(p)); });
        note.textContent = r.data.data.length ? "" : "هنوز درخواست جمع‌آوری‌ای ثبت نکرده‌اید.";
      });
    }
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      clearErrors(form); done.hidden = true; done.textContent = "";
      var b = body(), url = editing ? "/v1/pickups/" + encodeURIComponent(editing) : "/v1/pickups";
      if (!b.date) { showErrors(form, {detail_fa: "روز کاری‌ای برای جمع‌آوری در دسترس نیست."}); return; }
      busy(form, true);  // one request per tap: a second tap while the first is on its way would ask twice
      api(editing ? "PATCH" : "POST", url, b).then(function (r) {
        busy(form, false);
        if (!r.ok) { showErrors(form, r.data); return; }
        done.hidden = false; done.textContent = "";
        done.append(el("p", {id: "pickup-code", text: (editing ? "درخواست به‌روز شد. " : "درخواست جمع‌آوری ثبت شد. ") +
          "کد تأیید برای مأمور: " + fa(r.data.confirmation_code)}),
          el("p", {text: day(r.data.date) + "، " + fa(r.data.window.from) + " تا " + fa(r.data.window.to) +
            " · تغییر یا لغو تا " + when(r.data.cutoff)}));
        reset(); list();
      });
    });
    $("#pickup-reset").addEventListener("click", function () { reset(); clearErrors(form); });
    list();
  }

  // -- manifests -------------------------------------------------------------------------------------------------
  function manifests() {
    var form = $("#mf"), done = $("#mf-done");
    function by() { return form.querySelector("input[name=by]:checked").value; }
    function show() {
      form.querySelectorAll("[data-by]").forEach(function (b) { b.hidden = b.dataset.by !== by(); });
    }
    form.querySelectorAll("input[name=by]").forEach(function (r) { r.addEventListener("change", show); });
    var wanted = new URLSearchParams(location.search).get("pickup");
    api("GET", "/v1/pickups?limit=50").then(function (r) {
      var sel = form.pickup_id;
      (r.ok ? r.data.data : []).filter(function (p) { return OPEN[p.status] && !p.manifest_id; }).forEach(function (p) {
        sel.append(el("option", {value: p.pickup_id, text: day(p.date) + "، " + fa(p.window.from) + " تا " + fa(p.window.to) +
          " · کد " + fa(p.confirmation_code)}));
      });
      if (!sel.options.length) sel.append(el("option", {value: "", text: "درخواست جمع‌آوری بازی نیست"}));
      if (wanted) { sel.value = wanted; $("#by-pickup").checked = true; show(); }
    });
    function pdfLink(m) {
      return el("a", {href: new URL(m.pdf, location.href).pathname, download: m.manifest_id + ".pdf", "class": "pdf",
        text: "بارگیری PDF فهرست " + m.manifest_id});
    }
    function card(m) {
      return el("article", {"class": "item", "data-id": m.manifest_id},
        el("span", {"class": "tn", dir: "ltr", text: m.manifest_id}),
        el("span", {"class": "badge st-" + (m.status === "accepted" ? "delivered" : "open"),
          text: m.status === "accepted" ? "تحویل پست شد" : "باز، در انتظار تحویل"}),
        el("p", {text: [fa(m.count) + " مرسوله", fa(m.total_weight_g) + " گرم",
          m.total_cod_rials ? "پس‌کرایه " + P.rials(m.total_cod_rials) : ""].filter(Boolean).join(" · ")}),
        el("p", {"class": "note", text: "ساخته‌شده " + when(m.created_at) + (m.accepted_at ? " · تحویل " + when(m.accepted_at) : "") +
          (m.pickup_id ? " · از درخواست جمع‌آوری" : "")}),
        pdfLink(m));
    }
    function list() {
      var box = $("#mfs"), note = $("#mfs-note");
      note.textContent = "در حال بارگیری…";
      return api("GET", "/v1/manifests?limit=50").then(function (r) {
        box.textContent = "";
        if (!r.ok) { note.textContent = P.problemText(r.data); return; }
        r.data.data.forEach(function (m) { box.append(card(m)); });
        note.textContent = r.data.data.length ? "" : "هنوز فهرست تحویلی نساخته‌اید.";
      });
    }
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      clearErrors(form); done.hidden = true; done.textContent = "";
      var b = {}, how = by();
      if (how === "tns") b.tracking_numbers = lines(form.tracking_numbers.value);
      else if (how === "pickup") b.pickup_id = form.pickup_id.value;
      else {
        try { b.date = (P.dateBound(form.date) || new Date(Date.now() + 12600000).toISOString()).slice(0, 10); }
        catch (x) { showErrors(form, {errors: [{field: "date", message_fa: x.message}], detail_fa: "تاریخ درست نیست."}); return; }
      }
      busy(form, true);
      api("POST", "/v1/manifests", b).then(function (r) {
        busy(form, false);
        if (!r.ok) { showErrors(form, r.data); return; }
        done.hidden = false; done.textContent = "";
        done.append(el("p", {id: "mf-made", text: "فهرست " + r.data.manifest_id + " با " + fa(r.data.count) + " مرسوله ساخته شد."}),
          pdfLink(r.data));
        form.tracking_numbers.value = "";
        list();
      });
    });
    show(); list();
  }

  var pages = {pickups: pickups, manifests: manifests};
  document.addEventListener("DOMContentLoaded", function () {
    var page = pages[document.body.dataset.page];
    if (page) page();
  });
})();
