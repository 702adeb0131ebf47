// Pickup desk: a resident's pickup QR read with the camera (qr_scan.js) fills the form and submits
// it. Otherwise the volunteer types the 8 digits.
(function () {
  "use strict";
  window.baogongQrScan("code-form", "code", function (form) {
    form.submit();
  });
})();
