// Barid staff app: the barcode reader for browsers without BarcodeDetector. Loaded by app.js only when the
// browser lacks it (or when the device is told to use this one), with ZXing's reader (zxing-wasm, MIT, over
// zxing-cpp, Apache-2.0: the licences beside this file) and its WebAssembly, all from this server.
"use strict";
window.BaridDecoder = (() => {
  const BASE = "/staff/decoder/";
  const MAX_SIDE = 1280;  // frames are scaled down to this: enough for a label held to the camera, and quick
  let ready = null;

  function load() {
    ready = ready || new Promise((resolve, reject) => {
      const s = document.createElement("script");
      s.src = BASE + "zxing-reader.js";
      s.onload = () => {
        window.ZXingWASM.prepareZXingModule({
          overrides: { locateFile: (path, prefix) => (path.endsWith(".wasm") ? BASE + path : prefix + path) },
          fireImmediately: true,
        }).then(() => resolve(window.ZXingWASM), reject);
      };
      s.onerror = () => { ready = null; reject(new Error("decoder not loaded")); };
      document.head.append(s);
    });
    return ready;
  }

  // A detector with BarcodeDetector's shape: detect(video, image or canvas) -> [{rawValue, format}].
  async function detector() {
    const zx = await load();
    const canvas = document.createElement("canvas");
    const ctx = canvas.getContext("2d", { willReadFrequently: true });
    return {
      async detect(source) {
        const w = source.videoWidth || source.naturalWidth || source.width;
        const h = source.videoHeight || source.naturalHeight || source.height;
        if (!w || !h) return [];
        const k = Math.min(1, MAX_SIDE / Math.max(w, h));
        canvas.width = Math.round(w * k);
        canvas.height = Math.round(h * k);
        ctx.drawImage(source, 0, 0, canvas.width, canvas.height);
        const found = await zx.readBarcodes(ctx.getImageData(0, 0, canvas.width, canvas.height), {
          formats: ["Code128", "QRCode"], tryHarder: true, maxNumberOfSymbols: 4,
        });
        return found.filter((r) => r.isValid).map((r) => ({ rawValue: r.text, format: r.format }));
      },
    };
  }
  return { detector };
})();
