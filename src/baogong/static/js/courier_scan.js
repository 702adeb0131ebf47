// Pickup desk: read the resident's pickup QR with the camera where the browser has
// BarcodeDetector, put its content in the form and submit. Otherwise the volunteer types the 8 digits.
(function () {
  "use strict";
  var scan = document.getElementById("scan");
  var form = document.getElementById("code-form");
  if (!scan || !form || !("BarcodeDetector" in window) || !navigator.mediaDevices) {
    return;
  }
  var input = form.querySelector("[name=code]");
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
        form.submit();
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
})();
