// Barid staff app, the postman's day: the route of a plan, today's cash from this phone's scans, cash close.
"use strict";
window.BaridStaff.day = (ctx) => {
  const { $, NUM, ISO_DAY, rials, jalaliLong, faDigits, latin, today, problemFa, link } = window.BaridStaff;
  const PLAN_KEY = "barid-staff-plan";
  const { api, setNet } = ctx;

  // -- the postman's day -----------------------------------------------------------------------------------
  function renderCash(records) {
    const day = today();
    let cash = 0, card = 0, delivered = 0, failed = 0;
    for (const r of records) {
      if (r.state !== "accepted" && r.state !== "duplicate") continue;
      if (ISO_DAY.format(new Date(r.body.occurred_at)) !== day) continue;
      if (r.body.event === "cod_collected") {
        if (r.body.method === "cash") cash += r.body.amount; else card += r.body.amount;
      } else if (r.body.event === "delivered") delivered++;
      else if (r.body.event === "delivery_failed") failed++;
    }
    $("cash-today").textContent = `امروز ${NUM.format(delivered)} تحویل و ${NUM.format(failed)} تحویل ناموفق ثبت ` +
      `کرده‌اید. نقدی برای تحویل به صندوق: ${rials(cash)}؛ کارتخوان: ${rials(card)}.`;
    $("cash-today").dataset.cash = cash;
    if (!$("declared").value) $("declared").placeholder = NUM.format(cash);
  }

  function renderPlan(record) {
    const list = $("stops");
    list.replaceChildren();
    if (!record || record.status !== "done") return;
    const n = parseInt(latin($("postman-no").value), 10) || 1;
    const postman = record.plan.postmen[n - 1];
    if (!postman) { $("plan-status").textContent = `این برنامه نامه‌رسان شمارهٔ ${NUM.format(n)} ندارد.`; return; }
    $("plan-status").textContent = `${jalaliLong(new Date(record.date + "T12:00:00+03:30"))} — ` +
      `${NUM.format(postman.stops.length)} توقف، دریافت در محل ${rials(postman.cod_rials || 0)}`;
    for (const stop of postman.stops) {
      const li = document.createElement("li");
      li.className = "stop";
      const title = document.createElement("strong");
      title.textContent = `توقف ${NUM.format(stop.sequence)} — ساعت ${faDigits(stop.service_start || "")}`;
      const address = document.createElement("div");
      address.textContent = [stop.address, stop.city].filter(Boolean).join("، ");
      li.append(title, address);
      const parcels = document.createElement("div");
      parcels.className = "tn";
      parcels.textContent = (stop.parcels || []).join(" ");
      li.append(parcels);
      for (const who of stop.receivers || []) {
        if (who.phone) li.append(link("tel:" + who.phone, `تماس با ${who.name || "گیرنده"} ${faDigits(who.phone)}`));
        if (who.address_notes) {  // a failed delivery's notes from the shop or the buyer, for the postman
          const notes = document.createElement("div");
          notes.className = "notes";
          notes.textContent = "نشانی تکمیلی: " + who.address_notes;
          li.append(notes);
        }
      }
      if (stop.lat != null && stop.lon != null) {
        li.append(link(`geo:${stop.lat},${stop.lon}`, "نقشه (برنامهٔ گوشی)"));
        li.append(link(`https://www.openstreetmap.org/?mlat=${stop.lat}&mlon=${stop.lon}#map=17/${stop.lat}/${stop.lon}`,
                       "نقشه در مرورگر"));
      }
      if (stop.cod_rials) {
        const cod = document.createElement("div");
        cod.textContent = "دریافت از گیرنده: " + rials(stop.cod_rials);
        li.append(cod);
      }
      list.append(li);
    }
  }
  async function loadPlan(planId) {
    const status = $("plan-status");
    for (let i = 0; i < 60; i++) {
      let res;
      try {
        res = await api("GET", `/v1/offices/${ctx.me().office}/plans/${encodeURIComponent(planId)}`);
      } catch (e) {
        setNet(false);
        status.textContent = "بدون شبکه؛ آخرین برنامهٔ ذخیره‌شده نشان داده می‌شود.";
        renderPlan(JSON.parse(localStorage.getItem(PLAN_KEY) || "null"));
        return;
      }
      if (!res.ok) { status.textContent = problemFa(res.data); return; }
      if (res.data.status === "done" || res.data.status === "failed") {
        localStorage.setItem(PLAN_KEY, JSON.stringify(res.data));
        if (res.data.status === "failed") status.textContent = "برنامه ساخته نشد: " + (res.data.message || "");
        renderPlan(res.data);
        return;
      }
      status.textContent = "برنامه در حال ساخته‌شدن است…";
      await new Promise((r) => setTimeout(r, 1500));
    }
  }
  async function onPlan(ev) {
    ev.preventDefault();
    const id = $("plan-id").value.trim();
    if (id) { localStorage.setItem("barid-staff-plan-id", id); loadPlan(id); }
  }
  async function newPlan() {
    try {
      const res = await api("POST", `/v1/offices/${ctx.me().office}/plans`, { date: today(), time_limit_s: 5 });
      if (!res.ok) { $("plan-status").textContent = problemFa(res.data); return; }
      $("plan-id").value = res.data.plan_id;
      localStorage.setItem("barid-staff-plan-id", res.data.plan_id);
      loadPlan(res.data.plan_id);
    } catch (e) {
      setNet(false);
      $("plan-status").textContent = "ساختن برنامه به شبکه نیاز دارد.";
    }
  }

  // -- cash close (the money feature's POST /v1/offices/{code}/cash-closings) ------------------------------
  async function onCashClose(ev) {
    ev.preventDefault();
    const out = $("cash-result");
    const declared = $("declared").value ? amountOf("declared") : +($("cash-today").dataset.cash || 0);
    const body = { date: today(), postman: latin($("cash-postman").value).trim(), declared_total: declared };
    let res;
    try {
      res = await api("POST", `/v1/offices/${ctx.me().office}/cash-closings`, body);
    } catch (e) {
      setNet(false);
      out.textContent = "بستن صندوق به شبکه نیاز دارد.";
      return;
    }
    if (res.status === 404 && res.data && res.data.code === "route_not_found") {
      out.textContent = "بستن صندوق هنوز روی این سرور فعال نشده است.";
      return;
    }
    if (!res.ok) { out.textContent = problemFa(res.data); return; }
    const d = res.data;
    out.replaceChildren();
    const rows = [["مبلغ مورد انتظار", rials(d.expected)], ["مبلغ تحویلی", rials(d.declared_total ?? declared)],
                  ["مغایرت", rials(d.variance)]];
    for (const [k, v] of rows) {
      const p = document.createElement("p");
      p.textContent = `${k}: ${v}`;
      out.append(p);
    }
    for (const x of d.exceptions || []) {
      const p = document.createElement("p");
      p.className = "error";
      p.textContent = x.detail_fa || x.message_fa || JSON.stringify(x);
      out.append(p);
    }
  }

  return { renderCash, renderPlan, loadPlan, onPlan, newPlan, onCashClose, PLAN_KEY };
};
