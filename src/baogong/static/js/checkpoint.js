// Checkpoint page: a pass QR read with the camera (qr_scan.js) fills the form. Without a camera
// the officer types the 12-digit number.
(function () {
  "use strict";
  window.baogongQrScan("check-form", "payload_or_number", function (form) {
    // The plate must be read off the vehicle itself; submit only once it is there.
    var plate = form.querySelector("[name=plate_seen]");
    if (plate && plate.value.trim()) {
      form.submit();
    } else if (plate) {
      plate.focus();
    }
  });
})();
