// Barid staff app, shared helpers: Persian numbers and Jalali dates, the IndexedDB scan queue, S10 numbers.
"use strict";
window.BaridStaff = (() => {
  const $ = (id) => document.getElementById(id);
  const NUM = new Intl.NumberFormat("fa-IR");
  const DAY = new Intl.DateTimeFormat("fa-IR-u-ca-persian", { weekday: "long", year: "numeric", month: "long",
                                                               day: "numeric", timeZone: "Asia/Tehran" });
  const TIME = new Intl.DateTimeFormat("fa-IR-u-ca-persian", { hour: "2-digit", minute: "2-digit",
                                                                timeZone: "Asia/Tehran" });
  const ISO_DAY = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Tehran" });  // YYYY-MM-DD, Tehran's day
  const rials = (n) => NUM.format(n) + " ریال";
  // "سه‌شنبه ۱۲ دی ۱۴۰۸", as the server's jalali_long writes it (ICU's own order for fa varies by version).
  const jalaliLong = (when) => {
    const p = Object.fromEntries(DAY.formatToParts(when).map((x) => [x.type, x.value]));
    return `${p.weekday} ${p.day} ${p.month} ${p.year}`;
  };
  const faDigits = (s) => String(s).replace(/[0-9]/g, (d) => "۰۱۲۳۴۵۶۷۸۹"[d]);
  const latin = (s) => String(s).replace(/[۰-۹]/g, (d) => d.charCodeAt(0) - 0x6f0)
    .replace(/[٠-٩]/g, (d) => d.charCodeAt(0) - 0x660);
  const today = () => ISO_DAY.format(new Date());
  const EVENT_FA = {
    accepted: "پذیرش", arrived_delivery_office: "رسیدن به اداره توزیع", out_for_delivery: "تحویل به نامه‌رسان",
    delivered: "تحویل به گیرنده", delivery_failed: "تحویل ناموفق", cod_collected: "دریافت وجه در محل",
    sorting_in: "ورود به مبادلات", sorting_out: "خروج از مبادلات", returned_to_sender: "بازگشت به فرستنده",
  };
  const STATE_FA = { pending: "در صف ارسال", accepted: "ثبت شد", duplicate: "تکراری (پیش‌تر ثبت شده)",
                     refused: "رد شد" };

  // -- the device queue (IndexedDB): one record per scan, keyed by its scan_id ---------------------------------
  let dbPromise = null;
  function db() {
    dbPromise = dbPromise || new Promise((resolve, reject) => {
      const req = indexedDB.open("barid-staff", 1);
      req.onupgradeneeded = () => req.result.createObjectStore("scans", { keyPath: "scan_id" });
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    return dbPromise;
  }
  async function store(mode, fn) {
    const d = await db();
    return new Promise((resolve, reject) => {
      const t = d.transaction("scans", mode);
      const req = fn(t.objectStore("scans"));
      t.oncomplete = () => resolve(req ? req.result : undefined);  // resolved once on disk: nothing lost on reload
      t.onerror = () => reject(t.error);
    });
  }
  const putScans = (records) => store("readwrite", (s) => { records.forEach((r) => s.put(r)); return null; });
  const allScans = () => store("readonly", (s) => s.getAll());

  function uuid() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }


  function problemFa(p) {
    if (!p) return "خطای ناشناخته";
    if (p.errors && p.errors.length) return p.errors.map((e) => e.message_fa || e.message).join("؛ ");
    return p.detail_fa || p.title || p.detail || "خطای ناشناخته";
  }

  // -- S10 tracking numbers --------------------------------------------------------------------------------
  function s10(raw) {
    const tn = latin(raw).replace(/\s+/g, "").toUpperCase();
    const m = /^([A-Z]{2})(\d{8})(\d)([A-Z]{2})$/.exec(tn);
    if (!m) return null;
    const w = [8, 6, 4, 2, 3, 5, 9, 7];
    let sum = 0;
    for (let i = 0; i < 8; i++) sum += w[i] * +m[2][i];
    let check = 11 - (sum % 11);
    if (check === 10) check = 0;
    if (check === 11) check = 5;
    return check === +m[3] ? tn : null;
  }


  function link(href, text) {
    const a = document.createElement("a");
    a.href = href;
    a.textContent = text;
    if (href.startsWith("https:")) { a.target = "_blank"; a.rel = "noopener noreferrer"; }
    return a;
  }
  return { $, NUM, DAY, TIME, ISO_DAY, rials, jalaliLong, faDigits, latin, today, EVENT_FA, STATE_FA, putScans,
           allScans, uuid, problemFa, s10, link };
})();
