// Check-in scanner: reads a QR code with the camera through the browser's BarcodeDetector and
// submits it through the typed-code form. Without BarcodeDetector or a camera the scanner stays
// hidden and the form works alone.
(function () {
  "use strict";

  function init() {
    var box = document.querySelector("[data-scanner]");
    var form = document.querySelector("[data-checkin-form]");
    if (!box || !form) return;
    if (!("BarcodeDetector" in window) || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return;
    var video = box.querySelector("[data-scanner-video]");
    var start = box.querySelector("[data-scanner-start]");
    var stop = box.querySelector("[data-scanner-stop]");
    var status = box.querySelector("[data-scanner-status]");
    var input = form.querySelector("input[name=code]");
    var stream = null;
    var detector = null;
    var busy = false;

    function say(text) { if (status) status.textContent = text; }

    function halt() {
      if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
      stream = null;
      video.srcObject = null;
      start.hidden = false;
      stop.hidden = true;
    }

    function tick() {
      if (!stream || busy) return;
      detector.detect(video).then(function (codes) {
        if (codes && codes.length && codes[0].rawValue) {
          busy = true;
          input.value = codes[0].rawValue.trim();
          say(box.dataset.found || input.value);
          halt();
          form.submit();
          return;
        }
        window.requestAnimationFrame(tick);
      }).catch(function () { window.setTimeout(tick, 300); });
    }

    BarcodeDetector.getSupportedFormats().then(function (formats) {
      if (formats.indexOf("qr_code") === -1) return;
      detector = new BarcodeDetector({ formats: ["qr_code"] });
      box.hidden = false;
      start.addEventListener("click", function () {
        navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false })
          .then(function (s) {
            stream = s;
            video.srcObject = s;
            return video.play();
          })
          .then(function () {
            start.hidden = true;
            stop.hidden = false;
            say("");
            tick();
          })
          .catch(function () {
            halt();
            say(box.dataset.cameraError || "");
          });
      });
      stop.addEventListener("click", halt);
    }).catch(function () { /* no scanner: the typed form remains */ });
  }

  document.addEventListener("DOMContentLoaded", init);
})();
