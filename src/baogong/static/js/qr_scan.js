// Camera QR reading shared by the checkpoint and the pickup desk: where the browser has
// BarcodeDetector, the "scan" block appears; a code read goes into the form's field and
// `onRead(form)` decides what happens next. Without a camera the field is typed as usual.
(function () {
  "use strict";
  window.baogongQrScan = function (formId, fieldName, onRead) {
    var scan = document.getElementById("scan");
    var form = document.getElementById(formId);
    if (!scan || !form || !("BarcodeDetector" in window) || !navigator.mediaDevices) {
      return;
    }
    var input = form.querySelector("[name=" + fieldName + "]");
    var video = document.getElementById("scan-video");
    var note = document.getElementById("scan-note");
    var start = document.getElementById("scan-start");
    var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    var stream = null;

    function stop() {
      if (stream) {
        stream.getTracks().forEach(function (track) { track.stop(); });
        stream = null;
      }
      video.hidden = true;
      note.hidden = true;
    }

    function look() {
      if (!stream) {
        return;
      }
      detector.detect(video).then(function (codes) {
        if (codes.length && codes[0].rawValue) {
          input.value = codes[0].rawValue;
          stop();
          onRead(form);
          return;
        }
        window.requestAnimationFrame(look);
      }).catch(function () {
        window.requestAnimationFrame(look);
      });
    }

    scan.hidden = false;
    start.addEventListener("click", function () {
      navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false })
        .then(function (media) {
          stream = media;
          video.srcObject = media;
          video.hidden = false;
          note.hidden = false;
          return video.play();
        })
        .then(look)
        .catch(function () {
          stop();
          input.focus();
        });
    });
  };
})();
